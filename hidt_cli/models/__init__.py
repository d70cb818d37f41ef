"""The HiDT networks in the published parameter layout."""

from hidt_cli.models.config import EnhancerConfig, GeneratorConfig
from hidt_cli.models.enhancer import Enhancer
from hidt_cli.models.generator import Content, Generator

__all__ = ["Content", "Enhancer", "EnhancerConfig", "Generator", "GeneratorConfig"]
