"""Stand-in generators: a latent-to-4x4 head and a nearest-upsampling block per further scale."""
from mindspore import nn, ops


class GNet4_4_Train(nn.Cell):
    def __init__(self, dimLatent, depthScale0, leakyReluLeak=0.2, dimOutput=3):
        super().__init__()
        self.depth = depthScale0
        self.formatLayer = nn.Dense(dimLatent, 16 * depthScale0)
        self.toRGBLayers = nn.Conv2d(depthScale0, dimOutput, 1, has_bias=True)
        self.leakyRelu = nn.LeakyReLU(leakyReluLeak)

    def features(self, x):
        return self.leakyRelu(ops.reshape(self.formatLayer(x), (x.shape[0], self.depth, 4, 4)))

    def construct(self, x, alpha=0.0):
        return self.toRGBLayers(self.features(x))


class GNet4_4_last(nn.Cell):
    def __init__(self, gnet):
        super().__init__()
        self.gnet = gnet
        self.toRGBLayers = gnet.toRGBLayers

    def construct(self, x):
        return self.gnet.features(x)


def upscale(x):
    n, c, h, w = x.shape
    x = ops.tile(ops.reshape(x, (n, c, h, 1, w, 1)), (1, 1, 1, 2, 1, 2))
    return ops.reshape(x, (n, c, 2 * h, 2 * w))


class GNetNext_Train(nn.Cell):
    def __init__(self, depthScale0, last_Gnet, leakyReluLeak=0.2, dimOutput=3):
        super().__init__()
        self.last_Gnet = last_Gnet
        self.groupScale0 = nn.Conv2d(last_Gnet.toRGBLayers.in_channels, depthScale0, 3, has_bias=True)
        self.toRGBLayers = nn.Conv2d(depthScale0, dimOutput, 1, has_bias=True)
        self.leakyRelu = nn.LeakyReLU(leakyReluLeak)

    def features(self, x):
        return self.leakyRelu(self.groupScale0(upscale(self.last_Gnet(x))))

    def construct(self, x, alpha=0.0):
        y = upscale(self.last_Gnet.toRGBLayers(self.last_Gnet(x)))
        return alpha * y + (1 - alpha) * self.toRGBLayers(self.features(x))


class GNetNext_Last(GNet4_4_last):
    pass
