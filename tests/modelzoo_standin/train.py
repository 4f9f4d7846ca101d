"""Stand-in train.py: the functions the harness calls, under the ModelZoo's names and signatures."""
import numpy as np
from mindspore import Tensor, nn
from mindspore import dtype as mstype
from mindspore.common import set_seed

from model_utils.config import config
from src.network_D import DNet4_4_Train, DNet4_4_Last, DNetNext_Last, DNetNext_Train
from src.network_G import GNet4_4_last, GNet4_4_Train, GNetNext_Last, GNetNext_Train
from src.optimizer import AllLossD, AllLossG

__all__ = ["config", "construct_network", "get_optimize_d", "get_optimizer_g", "build_noise_data",
           "cell_deepcopy_update"]  # what the harness reads (train.config too, as in the ModelZoo)
LATENT = 8


def set_every(num):
    set_seed(num)
    np.random.seed(num)


set_every(1)


def cell_deepcopy(gnet, avg_gnet):
    for param, avg_param in zip(gnet.trainable_params(), avg_gnet.trainable_params()):
        avg_param.set_data(param.clone())


def cell_deepcopy_update(gnet, avg_gnet):
    for param, avg_param in zip(gnet.trainable_params(), avg_gnet.trainable_params()):
        avg_param.set_data(avg_param * 0.999 + param * 0.001)


def _train_cell(loss, params, lr, cfg):
    manager = nn.DynamicLossScaleUpdateCell(loss_scale_value=2 ** cfg.loss_scale_value, scale_factor=cfg.scale_factor,
                                            scale_window=cfg.scale_factor)
    opti = nn.Adam(params, beta1=0.0001, beta2=0.99, learning_rate=lr)
    return nn.TrainOneStepWithLossScaleCell(loss, opti, scale_sense=manager)


def get_optimize_d(dnet, lr, cfg):
    return _train_cell(AllLossD(dnet), dnet.trainable_params(), lr, cfg)


def get_optimizer_g(gnet, dnet, args):
    return _train_cell(AllLossG(gnet, dnet), gnet.trainable_params(), args.lr, args)


def build_noise_data(n_samples):
    return Tensor(np.random.randn(n_samples, LATENT), mstype.float32)


def construct_network(gnet, dnet, avg_gnet, depth, scale):
    if scale == 4:
        dnet = DNet4_4_Train(depth)
        gnet = GNet4_4_Train(LATENT, depth)
        avg_gnet = GNet4_4_Train(LATENT, depth)
    elif scale == 8:
        dnet = DNetNext_Train(depth, last_Dnet=DNet4_4_Last(dnet))
        gnet = GNetNext_Train(depth, last_Gnet=GNet4_4_last(gnet))
        avg_gnet = GNetNext_Train(depth, last_Gnet=GNet4_4_last(avg_gnet))
    else:
        dnet = DNetNext_Train(depth, last_Dnet=DNetNext_Last(dnet))
        gnet = GNetNext_Train(depth, GNetNext_Last(gnet))
        avg_gnet = GNetNext_Train(depth, GNetNext_Last(avg_gnet))
    cell_deepcopy(gnet, avg_gnet)
    return gnet, dnet, avg_gnet
