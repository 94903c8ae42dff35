"""Forms: the pure form model, XLSForm import, checks, diff, expressions and the compiled validator."""
