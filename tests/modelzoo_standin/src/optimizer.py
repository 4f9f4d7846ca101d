"""Stand-in losses: WGAN-GP for D (a second-order gradient through D), non-saturating WGAN for G."""
import numpy as np
from mindspore import Tensor, nn, ops


class AllLossD(nn.Cell):
    def __init__(self, netD):
        super().__init__()
        self.netD = netD
        self.grad = ops.GradOperation()
        self.sum = ops.ReduceSum()
        self.mix = Tensor(np.full((1, 1, 1, 1), 0.3, dtype=np.float32))  # one mix for any batch size

    def construct(self, real, fake, alpha):
        inter = self.mix * real + (1 - self.mix) * fake
        g = self.grad(self.netD)(inter, alpha)
        gp = ops.square(ops.sqrt(self.sum(ops.square(g), (1, 2, 3))) - 1).mean()
        return self.netD(fake, alpha).mean() - self.netD(real, alpha).mean() + 10 * gp


class AllLossG(nn.Cell):
    def __init__(self, netG, netD):
        super().__init__()
        self.netG, self.netD = netG, netD

    def construct(self, inputNoise, alpha):
        return -self.netD(self.netG(inputNoise, alpha), alpha).mean()
