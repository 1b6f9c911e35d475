"""``semspace demo``: the main job on the world, end to end, one section per method.

``run.py`` runs the demo: the world's sheets, then every section registered in ``sections.py`` (a new method's section
is a new file here with ``@demo_section``), then ``report.md``. The sections: ``tirg.py`` (the main one: transferred
transformations on TIRG, an index, searches), ``chtn.py``, ``ssgn.py``, ``egsc_it.py``; ``common.py`` holds what they
share, among it the configs shipped in the package (``semspace/configs/``).
"""

from semspace.demo.run import check_configs as check_configs
from semspace.demo.run import demo_intro as demo_intro
from semspace.demo.run import run_demo as run_demo
from semspace.demo.tirg import demo_run_cfg as demo_run_cfg
