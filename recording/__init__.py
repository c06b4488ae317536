"""Meeting recording (per-track files with PyAV, gallery composite).

Empty for now: the recording issue fills it. It may import only ``sfu``'s
public interface (a recorder is just another consumer of a router).
"""
