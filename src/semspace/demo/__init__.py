"""``semspace demo``: the main job on the world, end to end, one section per method.

``tirg.py`` runs the demo (transferred transformations on TIRG, an index, searches) and calls the sections of the
other methods, each in its own file: ``chtn.py``, ``ssgn.py``, ``egsc_it.py``; ``common.py`` holds what they share.
"""

from semspace.demo.tirg import DEMO_INTRO as DEMO_INTRO
from semspace.demo.tirg import demo_run_cfg as demo_run_cfg
from semspace.demo.tirg import run_demo as run_demo
