"""hidt: change the time of day of a photo with HiDT (CVPR 2020), at full resolution.

import hidt_cli
model = hidt_cli.load()                      # shipped default weights
night = model.translate("photo.jpg", "night", hires=True)
night.save("photo_night.jpg")
"""

from hidt_cli.model import HiDT, load
from hidt_cli.models import Content
from hidt_cli.render import RenderSpec
from hidt_cli.styles import StyleError
from hidt_cli.weights import WeightsError

__version__ = "0.1.0"
__all__ = ["Content", "HiDT", "RenderSpec", "StyleError", "WeightsError", "__version__", "load"]
