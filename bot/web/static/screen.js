// The 大屏 (?screen=1) is made for the office's wall screen (1920×1080: large type, refreshing itself every
// minute). A narrow screen (a phone the address was forwarded to) is sent to the overview instead, which says
// why: there its own projects, the phone's charts and a page that does not reload while it is read.
(function () {
  "use strict";
  if (window.matchMedia("(max-width: 799px)").matches) {
    window.location.replace("/web/?from=screen");
  }
})();
