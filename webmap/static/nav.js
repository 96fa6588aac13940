// What every page shares: the navigation, whose links fold behind a menu button on a narrow
// screen, and wall mode (?wall=1, or any screen wider than 2560 px; ?wall=0 turns it off),
// where text, legend and toolbars scale with the screen (html.wall in nav.css).
(function () {
  "use strict";
  var WALL_ABOVE = 2560;
  var asked = new URLSearchParams(window.location.search).get("wall");
  if (asked === "1" || (asked !== "0" && window.innerWidth > WALL_ABOVE)) document.documentElement.classList.add("wall");

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".site-nav"), function (nav) {
      var button = nav.querySelector(".site-nav-toggle");
      button.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
