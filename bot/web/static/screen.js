// The 大屏 (?screen=1) is made for the office's wall screen (1920×1080: large type, refreshing itself every
// minute). A phone the address was forwarded to is sent to the overview instead, which says why: there its own
// projects, the phone's charts and a page that does not reload while it is read. A phone is a narrow screen
// worked by touch; a narrow desktop window or a wall display (mouse, or no pointer at all) keeps the 大屏.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 799px)").matches;
  // A browser that knows the pointer media feature says whether its main pointer is a finger; one that does
  // not is asked whether it has a touch screen.
  var knowsPointer = window.matchMedia("(pointer: coarse), (pointer: fine), (pointer: none)").matches;
  var touch = knowsPointer ? window.matchMedia("(pointer: coarse)").matches : navigator.maxTouchPoints > 0;
  if (narrow && touch) {
    window.location.replace("/web/?from=screen");
  }
})();
