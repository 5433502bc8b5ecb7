// The YAML editor: CodeMirror 6 with line numbers, YAML highlighting, and the engine's
// diagnostics and lint findings as inline markers (gutter + underline) at their line and
// column: load errors red, warnings and lint findings amber (lint underlines dashed), each
// with its message in a tooltip (a lint finding's help line too). One view, one state per
// file (tab).
import { EditorState, StateEffect, StateField, Text } from "@codemirror/state";
import {
  Decoration, EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, foldGutter, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";

const flashEffect = StateEffect.define();
const flashField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) {
      if (e.is(flashEffect)) deco = e.value === null ? Decoration.none : Decoration.set([Decoration.line({ class: "cm-flash" }).range(e.value)]);
    }
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** The extensions of every file's editor state. */
function extensions(name, onChange) {
  return [
    lineNumbers(),
    foldGutter(),
    lintGutter(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    indentOnInput(),
    bracketMatching(),
    highlightSelectionMatches(),
    yaml(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
    EditorState.tabSize.of(2),
    // On a phone the lines wrap (no sideways scrolling inside the page).
    ...(window.matchMedia?.("(max-width: 760px)").matches ? [EditorView.lineWrapping] : []),
    // Tab indents; Escape then Tab (or Shift+Tab) leaves the editor (CodeMirror's rule),
    // as the hint linked here says.
    // (`tabindex` states what contenteditable already does, for checkers that only count it.)
    EditorView.contentAttributes.of({ "aria-label": `File ${name}`, "aria-describedby": "editor-hint", tabindex: "0" }),
    flashField,
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange(name, u.state.doc.toString());
    }),
  ];
}

/**
 * One CodeMirror view showing one file at a time; every file keeps its own state (undo
 * history, selection, scroll, markers).
 */
export class FileEditor {
  constructor(parent, onChange) {
    this.onChange = onChange;
    /** Editor states of the files shown so far; `texts` holds the others (a state is made
     *  when a file is first shown: loading a workspace stays cheap). */
    this.states = new Map();
    this.texts = new Map();
    this.marks = new Map();
    this.name = null;
    this.view = new EditorView({ parent, state: EditorState.create({ doc: "" }) });
  }

  /** Forgets every file and shows `name`. */
  reset(files, name) {
    this.states.clear();
    this.texts.clear();
    this.marks.clear();
    for (const f of files) this.texts.set(f.name, f.text);
    this.name = null;
    this.show(name);
    this.view.scrollDOM.scrollTo(0, 0);
  }

  create(name, text) {
    return EditorState.create({ doc: text, extensions: extensions(name, this.onChange) });
  }

  /** Adds a file (or replaces its text) without showing it. */
  put(name, text) {
    if (this.name === name) {
      this.states.set(name, this.create(name, text));
      this.view.setState(this.states.get(name));
    } else {
      this.states.delete(name);
      this.texts.set(name, text);
    }
  }

  remove(name) {
    this.states.delete(name);
    this.texts.delete(name);
    this.marks.delete(name);
  }

  /** The document of file `name` (its state's, or its text's). */
  doc(name) {
    if (name === this.name) return this.view.state.doc;
    const state = this.states.get(name);
    if (state) return state.doc;
    const text = this.texts.get(name);
    return text === undefined ? null : Text.of(text.split("\n"));
  }

  rename(from, to) {
    const doc = this.doc(from);
    if (!doc) return;
    this.states.delete(from);
    this.texts.delete(from);
    this.states.set(to, this.create(to, doc.toString()));
    if (this.name === from) {
      this.name = null;
      this.show(to);
    }
  }

  /** Shows file `name` (its markers included). */
  show(name) {
    if (this.name === name) return;
    if (this.name !== null && this.states.has(this.name)) this.states.set(this.name, this.view.state);
    if (!this.states.has(name) && this.texts.has(name)) {
      this.states.set(name, this.create(name, this.texts.get(name)));
      this.texts.delete(name);
    }
    const state = this.states.get(name);
    if (!state) return;
    this.name = name;
    this.view.setState(state);
    this.view.dispatch(setDiagnostics(this.view.state, this.marks.get(name) ?? []));
  }

  /** The text of the shown file. */
  text() {
    return this.view.state.doc.toString();
  }

  /** Replaces the shown file's text (as an edit: undoable, reported to onChange). */
  setText(text) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text }, selection: { anchor: 0 } });
  }

  /** Sets the markers of every file: `byFile` maps names to {diagnostics, lints}. */
  setMarkers(byFile) {
    this.marks.clear();
    for (const [name, { diagnostics, lints }] of byFile) {
      if (!diagnostics.length && !lints.length) continue;
      const doc = this.doc(name);
      if (doc) this.marks.set(name, marksOf(doc, diagnostics, lints));
    }
    if (this.name !== null) this.view.dispatch(setDiagnostics(this.view.state, this.marks.get(this.name) ?? []));
  }

  /** Shows `name`, moves the cursor to a line (1-based), scrolls to it and flashes it. */
  jumpTo(name, line, column = 1) {
    if (name) this.show(name);
    const { line: l, from } = position(this.view.state.doc, line, column);
    this.view.dispatch({
      selection: { anchor: from },
      effects: [EditorView.scrollIntoView(from, { y: "center" }), flashEffect.of(l.from)],
    });
    this.view.focus();
    setTimeout(() => this.view.dispatch({ effects: flashEffect.of(null) }), 1500);
  }

  /** The line (1-based) of the cursor. */
  cursorLine() {
    return this.view.state.doc.lineAt(this.view.state.selection.main.head).number;
  }
}

function position(doc, line, column) {
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return { line: l, from: l.from + Math.min(Math.max(column - 1, 0), l.length) };
}

/** The tooltip of a lint finding: code, message, help and where. */
function lintTooltip(l) {
  const node = document.createElement("div");
  node.className = "lint-tip";
  const head = document.createElement("div");
  const code = document.createElement("code");
  code.className = "lint-code";
  code.textContent = l.code;
  head.append(code, ` ${l.message}`);
  const help = document.createElement("div");
  help.className = "lint-help";
  help.textContent = `help: ${l.help}`;
  const where = document.createElement("div");
  where.className = "lint-where";
  where.textContent = [l.resource, l.field].filter(Boolean).join(": ");
  node.append(head, help, where);
  return node;
}

/** CodeMirror diagnostics for engine diagnostics ({line, column, severity, resource,
 *  field, message}) and lint findings ({code, line, column, message, help, ...}). */
function marksOf(doc, diagnostics, lints = []) {
  const range = (d) => {
    const { line, from } = position(doc, d.line, d.column);
    return { from, to: Math.max(from, line.to) };
  };
  const marks = diagnostics.map((d) => {
    const where = [d.resource, d.field].filter(Boolean).join(": ");
    return { ...range(d), severity: d.severity, message: where ? `${where}: ${d.message}` : d.message, source: "egress-policy" };
  });
  for (const l of lints) {
    marks.push({
      ...range(l),
      severity: "warning",
      markClass: "cm-lint-finding",
      source: "egress-policy lint",
      message: `${l.message} [${l.code}] help: ${l.help}`,
      renderMessage: () => lintTooltip(l),
    });
  }
  return marks;
}
