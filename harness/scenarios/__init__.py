"""Every scenario module; importing this package registers them all (one line per scenario)."""
from . import loss_ranges  # noqa: F401
from . import step_time  # noqa: F401
from . import mindir_latency  # noqa: F401
from . import fid  # noqa: F401
from . import quality  # noqa: F401
