"""Stand-in config: the yaml named by --config_path on the command line, as attributes."""
import argparse
import types

import yaml


def get_config():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config_path", required=True)
    args = parser.parse_args()
    with open(args.config_path) as f:
        return types.SimpleNamespace(**yaml.safe_load(f))


config = get_config()
print("stand-in config:", config)  # the harness must keep stdout clean
