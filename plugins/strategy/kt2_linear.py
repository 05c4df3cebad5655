# The linear strategy, accelerated by mitogen when it is installed and not switched off.
#
# mitogen hooks into Ansible as a strategy plugin (which Ansible 12 deprecates), so this shim keeps
# the project working, tuned by ansible.cfg alone, when mitogen is absent, broken, or disabled with
# KT2OPS_MITOGEN=0.
from __future__ import annotations

import os

DOCUMENTATION = """
name: kt2_linear
short_description: linear strategy, with mitogen when available
description:
  - Runs tasks like the C(linear) strategy. When the C(mitogen) package imports and
    C(KT2OPS_MITOGEN) is not C(0), mitogen's connection multiplexing is used.
author: kt2ops
"""

from ansible.plugins.strategy.linear import StrategyModule as _Linear

_mixins: tuple[type, ...] = ()
if os.environ.get("KT2OPS_MITOGEN", "1") != "0":
    try:
        import ansible_mitogen.strategy

        _mixins = (ansible_mitogen.strategy.StrategyMixin,)
    except ImportError:  # mitogen not installed: stay on plain linear
        pass


class StrategyModule(*_mixins, _Linear):  # type: ignore[misc]
    pass
