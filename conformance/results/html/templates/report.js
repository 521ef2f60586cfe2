// Filters and copy buttons. Rows are rendered (and escaped) by the server side; this script
// only shows and hides them, reads values with textContent and writes none of the data as HTML.
(function () {
  "use strict";
  const form = document.querySelector("[data-filters]");
  const selects = Array.from(document.querySelectorAll("[data-filter]"));
  const findings = Array.from(document.querySelectorAll("[data-finding]"));
  const groups = Array.from(document.querySelectorAll("[data-group]"));
  const count = document.querySelector("[data-visible-count]");
  const empty = document.querySelector("[data-empty]");

  function chosen() {
    const wanted = {};
    for (const select of selects) {
      if (select.value) wanted[select.dataset.filter] = select.value;
    }
    return wanted;
  }

  function apply() {
    const wanted = chosen();
    const shownPerApi = {};
    let shown = 0;
    for (const row of findings) {
      const visible = Object.entries(wanted).every(([key, value]) => row.dataset[key] === value);
      row.hidden = !visible;
      if (visible) {
        shown += 1;
        shownPerApi[row.dataset.api] = true;
      }
    }
    for (const group of groups) group.hidden = !shownPerApi[group.dataset.group];
    if (count) count.textContent = shown + " of " + findings.length + " findings";
    if (empty) empty.hidden = shown > 0;
    // Keep the choice in the address so a filtered view can be linked to.
    const hash = new URLSearchParams(wanted).toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function restore() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const select of selects) {
      const value = params.get(select.dataset.filter);
      if (value && Array.from(select.options).some((option) => option.value === value)) {
        select.value = value;
      }
    }
  }

  if (form) {
    form.addEventListener("change", apply);
    // A reset restores the selects after the event; filter once they are back to "all".
    form.addEventListener("reset", () => setTimeout(apply, 0));
    form.addEventListener("submit", (event) => event.preventDefault());
    restore();
    apply();
  }

  for (const button of document.querySelectorAll("[data-show-api]")) {
    button.addEventListener("click", () => {
      for (const select of selects) {
        select.value = select.dataset.filter === "api" ? button.dataset.showApi : "";
      }
      apply();
      document.getElementById("findings").scrollIntoView({ behavior: "smooth" });
    });
  }

  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => {
      const text = button.parentElement.querySelector("pre").textContent;
      const done = () => {
        button.textContent = "Copied";
        setTimeout(() => { button.textContent = "Copy"; }, 1500);
      };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(done, () => selectText(button));
      } else {
        selectText(button);
      }
    });
  }

  // Where the clipboard is refused (some browsers on file://), select the command instead.
  function selectText(button) {
    const range = document.createRange();
    range.selectNodeContents(button.parentElement.querySelector("pre"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
