// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  // Long multiple choices (countries, modules) become searchable lists of chips (Tom Select,
  // static/vendor). Without JavaScript they stay the browser's own multiple select.
  if (window.TomSelect) {
    for (const select of document.querySelectorAll("select[multiple]:not([data-native])")) {
      new TomSelect(select, {
        plugins: ["remove_button"],
        maxOptions: null,
        hidePlaceholder: true,
        placeholder: select.dataset.placeholder || "",
      });
    }
  }
  // A checkbox marked data-check-all="name" ticks or clears every checkbox of that name in
  // its form, and shows a dash when only some are ticked.
  for (const all of document.querySelectorAll("input[data-check-all]")) {
    const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`);
    const reflect = () => {
      const ticked = [...boxes()].filter((box) => box.checked).length;
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    };
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    all.form.addEventListener("change", (event) => {
      if (event.target !== all) reflect();
    });
    reflect();
  }
});
