// Keep every slide inside the projector: when the current slide is taller than the
// deck, its figures shrink first (not below 200 px), then the whole slide is zoomed
// out. Runs when a slide is shown, after MathJax has typeset it (math changes heights).
/* global Reveal, MathJax */
(function () {
  "use strict";
  var MIN_FIGURE = 200;

  function fit(slide) {
    if (!slide || slide.dataset.fitted) return;
    var height = Reveal.getConfig().height;
    var over = slide.scrollHeight - height;
    var figures = Array.prototype.slice.call(
      slide.querySelectorAll(".jp-OutputArea-output img, img.lecturelib-frame")
    );
    if (over > 0 && figures.length) {
      var each = over / figures.length;
      figures.forEach(function (img) {
        var h = Math.max(MIN_FIGURE, img.offsetHeight - each);
        img.style.setProperty("height", h + "px", "important");
      });
      over = slide.scrollHeight - height;
    }
    if (over > 0) slide.style.zoom = (height / slide.scrollHeight).toFixed(3);
    slide.dataset.fitted = "true";
    Reveal.layout();
  }

  function fitLater(slide) {
    if (window.MathJax && MathJax.Hub) {
      MathJax.Hub.Queue(function () { fit(slide); });
    } else {
      fit(slide);
    }
  }

  // For the PDF (decktape opens the deck with ?static-math): every slide is laid out
  // (not display:none), the math is typeset once more with true sizes, and slide
  // changes no longer re-typeset it: a page printed during a re-typeset would show
  // no equations, and math typeset in a hidden slide comes out too small.
  var staticMath = /[?&]static-math\b/.test(window.location.search);

  function prepareStaticMath() {
    Reveal.configure({ viewDistance: 1000 });
    if (window.MathJax && MathJax.Hub) {
      MathJax.Hub.Queue(["Rerender", MathJax.Hub], function () {
        MathJax.Hub.Rerender = function () {};
        document.body.dataset.mathReady = "true";
      });
    }
  }

  // Speaker notes (press s) open in a window without MathJax's styles, where typeset math
  // would show twice (its visual spans and its hidden MathML). Once MathJax is done, the
  // notes (hidden on the slides) keep only the MathML, which the browser draws itself.
  function notesWithMathML() {
    document.querySelectorAll(".reveal .slides aside.notes").forEach(function (aside) {
      aside.querySelectorAll(
        ".MathJax_Preview, .mjx-math, script[type^='math/tex'], .MathJax_Display > :not(.MathJax_CHTML)"
      ).forEach(function (el) { el.remove(); });
      aside.querySelectorAll(".MJX_Assistive_MathML").forEach(function (el) {
        el.replaceWith.apply(el, Array.prototype.slice.call(el.childNodes));
      });
    });
  }

  if (window.MathJax && MathJax.Hub) {
    MathJax.Hub.Register.StartupHook("End", function () {
      MathJax.Hub.Queue(notesWithMathML);
    });
  }

  window.lectureFit = function () {
    if (staticMath) prepareStaticMath();
    Reveal.on("slidechanged", function (event) { fitLater(event.currentSlide); });
    if (Reveal.isReady()) {
      fitLater(Reveal.getCurrentSlide());
    } else {
      Reveal.on("ready", function (event) { fitLater(event.currentSlide); });
    }
  };
})();
