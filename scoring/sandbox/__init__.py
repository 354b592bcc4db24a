"""The sandbox: a risk manager's policy played out on the rated merchants of a region or
segment, side by side with today's policy, before it is used (docs/scoring.md, "The sandbox").

`simulate` holds the maths (pure functions over plain values and frames); `services` reads the
merchants' current ratings a chunk at a time and keeps the run's progress; `tasks` runs it on a
Celery worker."""
