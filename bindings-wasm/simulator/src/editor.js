// The YAML editor: CodeMirror 6 with line numbers, YAML highlighting, and the engine's
// diagnostics and lint findings as inline markers (gutter + underline) at their line and
// column: load errors red, warnings and lint findings amber (lint underlines dashed), each
// with its message in a tooltip (a lint finding's help line too).
import { EditorState, StateEffect, StateField } from "@codemirror/state";
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

export function createEditor(parent, doc, onChange) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
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
        flashField,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
}

export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 } });
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

/** Shows engine diagnostics ({line, column, severity, resource, field, message}) and lint
 *  findings ({code, line, column, message, help, ...}). */
export function showDiagnostics(view, diagnostics, lints = []) {
  const doc = view.state.doc;
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
  view.dispatch(setDiagnostics(view.state, marks));
}

/** Moves the cursor to a line (1-based), scrolls it into view and flashes it. */
export function jumpTo(view, line, column = 1) {
  const { line: l, from } = position(view.state.doc, line, column);
  view.dispatch({
    selection: { anchor: from },
    effects: [EditorView.scrollIntoView(from, { y: "center" }), flashEffect.of(l.from)],
  });
  view.focus();
  setTimeout(() => view.dispatch({ effects: flashEffect.of(null) }), 1500);
}

/** The line (1-based) of the cursor. */
export function cursorLine(view) {
  return view.state.doc.lineAt(view.state.selection.main.head).number;
}
