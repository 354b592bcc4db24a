"""Model monitoring: population stability (PSI) of the champion's score and features per week and
per month against its reference window, predicted versus actual default by grade once loans
mature, and a warning to the risk managers when a drift passes its threshold
(docs/scoring.md, "Model monitoring").

`psi` holds the maths (pure); `services` writes DriftReport and GradeOutcome rows and sends the
alerts; `tasks` runs it nightly."""
