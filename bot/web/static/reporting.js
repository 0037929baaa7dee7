// 填报情况's heat map is four weeks wide: on a phone it scrolls sideways, and a browser opens a scrolling box at its
// start, the first week, today's column off to the right. Opened, the box is scrolled so that today's column is its
// last one in view, the days before it to its left (the liaisons' names stay at the left edge: app.css). Without
// scripts it opens at the first week, as before; where it all fits nothing moves.
(function () {
  "use strict";
  var wraps = document.querySelectorAll(".heat-wrap");
  for (var i = 0; i < wraps.length; i++) {
    var wrap = wraps[i];
    var today = wrap.querySelector("th.today");
    if (today && wrap.scrollWidth > wrap.clientWidth) {
      wrap.scrollLeft += today.getBoundingClientRect().right - wrap.getBoundingClientRect().right + 4;
    }
  }
})();
