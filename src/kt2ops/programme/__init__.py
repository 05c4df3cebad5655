"""The migration programme: every domain of an inventory at a glance (runbook position, planned date, trial
figures, heightened monitoring), planned into the target's maintenance windows from measured durations, and
checked (`kt2 programme`)."""
