"""Only job: ship ``freqtrade_bingx.pth`` at the top of site-packages (setup.cfg cannot).

The .pth line arms a lazy import hook (see ``freqtrade_bingx/_autoload.py``); metadata and
options live in setup.cfg.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


PTH = "freqtrade_bingx.pth"


class BuildWithPth(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "plugin" / PTH
        self.copy_file(str(source), str(Path(self.build_lib) / PTH))


setup(cmdclass={"build_py": BuildWithPth})
