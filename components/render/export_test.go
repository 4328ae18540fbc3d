package render

// FirstDiff serves the external tests (package render_test) too.
var FirstDiff = firstDiff
