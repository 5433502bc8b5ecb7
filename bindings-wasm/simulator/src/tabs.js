// The WAI-ARIA tabs pattern: one tab in the Tab order (the selected one), arrow keys move
// between tabs and select them (Left/Right, Up/Down, Home/End), each tab controls a panel.

/**
 * Wires keyboard handling on a `role=tablist` element whose tabs are `[role=tab]`.
 * `select(tab)` is called when a tab is chosen (click or arrow key).
 */
export function tablist(list, select) {
  list.addEventListener("click", (e) => {
    const tab = e.target.closest("[role=tab]");
    if (tab && list.contains(tab)) select(tab);
  });
  list.addEventListener("keydown", (e) => {
    const tab = e.target.closest("[role=tab]");
    if (!tab) return;
    const tabs = [...list.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(tab);
    let next = null;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") next = tabs[(at + 1) % tabs.length];
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") next = tabs[(at - 1 + tabs.length) % tabs.length];
    else if (e.key === "Home") next = tabs[0];
    else if (e.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    e.preventDefault();
    const index = tabs.indexOf(next);
    select(next);
    // `select` may have re-rendered the tabs: focus the tab now at that place.
    list.querySelectorAll("[role=tab]")[index]?.focus();
  });
}

/** Marks `selected` as the selected tab of its list (roving tabindex) and shows its panel. */
export function markSelected(list, selected) {
  for (const tab of list.querySelectorAll("[role=tab]")) {
    const on = tab === selected;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    const panel = tab.getAttribute("aria-controls");
    if (panel && document.getElementById(panel)?.classList.contains("tab")) document.getElementById(panel).hidden = !on;
  }
}
