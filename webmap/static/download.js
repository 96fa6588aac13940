// Exports that take seconds (the community PDF, large ledgers): the link shows that the
// file is being made, and cannot be clicked twice, until the download starts. A link marked
// data-busy="…" is fetched here and handed to the browser as a file; if fetching fails the
// link falls back to an ordinary navigation, which shows the server's message.
(function () {
  "use strict";
  function filename(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var star = /filename\*=UTF-8''([^;]+)/i.exec(header), plain = /filename="?([^";]+)"?/i.exec(header);
    return star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallback;
  }
  document.querySelectorAll("a[data-busy]").forEach(function (link) {
    link.addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      if (link.getAttribute("aria-busy") === "true") return;
      var label = link.textContent;
      link.setAttribute("aria-busy", "true");
      link.classList.add("busy");
      link.textContent = link.getAttribute("data-busy");
      function done() { link.textContent = label; link.classList.remove("busy"); link.removeAttribute("aria-busy"); }
      fetch(link.href, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.blob().then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = filename(r, link.href.split("/").pop().split("?")[0]);
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
          done();
          link.setAttribute("data-downloaded", "true");
        });
      }).catch(function () { done(); window.location.href = link.href; });
    });
  });
})();
