"""A/B comparison of two git refs' time metrics on one machine (the ``snnbench-ab`` command).

``trees``: each ref checked out and installed on its own; ``stats``: the decision (Mann-Whitney U
and a minimum effect); ``cli``: the alternating rounds, the table and the exit status.
"""
