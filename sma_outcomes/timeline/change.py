def change_from_baseline(*a, **k): pass
