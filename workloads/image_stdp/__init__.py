"""Image-STDP (workloads 1 and 2): the Diehl & Cook network (diehl_cook/: BindsNET's engine and the fast one), its input coding and label voting (coding.py), its tests."""
