"""Elastic annexes: the controller that grows an annex from the queue's demand, shrinks it
to zero, and keeps it within its caps and its budget (issue 8).

    state.py       what it keeps in the annex's record (nothing only in memory)
    control.py     one step for one annex: observe, plan, act, show
    launching.py   one decision group through the provider's catalogue, never twice
    releasing.py   ending workers gracefully, after re-checking their claims
    view.py        what it shows: the record, and a ClassAd in the collector
    identity.py    the pool identity it acts as (condor@, for its ad)
    daemon.py      the process that steps every annex of a state home
    supervisor.py  the tool's own supervisor, where no condor_master can run it
    supervision.py making sure a controller runs for a new annex

Observing the pool is `condor_annex.observe`; deciding is the pure `condor_annex.planning`.
"""
