// What the plain pages do on a click or a change, kept out of the HTML (the pages' CSP runs no
// inline handlers): a print link, and a select that submits its form when changed.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (link) {
    link.addEventListener("click", function (e) { e.preventDefault(); window.print(); });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
