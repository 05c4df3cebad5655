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
    C(KT2OPS_MITOGEN) is not C(0), mitogen's connection multiplexing is used for every play
    except those on the local connection (C(connection=local)), whose asynchronous tasks hang under it.
author: kt2ops
"""

from ansible.plugins.strategy.linear import StrategyModule as _Linear

_accelerated: type | None = None
if os.environ.get("KT2OPS_MITOGEN", "1") != "0":
    try:
        import ansible_mitogen.strategy

        class _MitogenLinear(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc]
            pass

        _accelerated = _MitogenLinear
    except ImportError:  # mitogen not installed: stay on plain linear
        pass


class StrategyModule(_Linear):
    def run(self, iterator, play_context):  # type: ignore[no-untyped-def]
        # Ansible builds the strategy before it hands over the play, so the choice is made here. Local
        # plays gain nothing from mitogen, and its async tasks hang in them (molecule's podman create
        # and destroy playbooks).
        if _accelerated is not None and iterator._play.connection != "local":
            self.__class__ = _accelerated
            return self.run(iterator, play_context)
        return super().run(iterator, play_context)
