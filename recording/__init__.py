"""Meeting recording: per-track WebM files with PyAV, then the gallery
composite (one MP4) rendered from them in a worker process.

It may import only ``sfu``'s public interface (a recorder is just another
consumer of a router); the layout of the composite is passed in by the caller.
"""
