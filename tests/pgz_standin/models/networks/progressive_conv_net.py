"""Tiny progressive G and D (stand-in): one 3x3 conv per added scale, 1x1 to/from RGB, alpha blending."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_alpha(net, alpha):
    if alpha < 0 or alpha > 1:
        raise ValueError("alpha must be in [0,1]")
    if len(net.scalesDepth) < 2:
        raise AttributeError("no alpha before a scale is added")
    net.alpha = alpha


class GNet(nn.Module):
    def __init__(self, dimLatent, depthScale0, leakyReluLeak=0.2, dimOutput=3):
        super().__init__()
        self.leak, self.dimOutput, self.alpha = leakyReluLeak, dimOutput, 0
        self.scalesDepth = [depthScale0]
        self.formatLayer = nn.Linear(dimLatent, 16 * depthScale0)
        self.scaleLayers = nn.ModuleList()
        self.toRGBLayers = nn.ModuleList([nn.Conv2d(depthScale0, dimOutput, 1)])

    def addScale(self, depthNewScale):
        self.scaleLayers.append(nn.Conv2d(self.scalesDepth[-1], depthNewScale, 3, padding=1))
        self.toRGBLayers.append(nn.Conv2d(depthNewScale, self.dimOutput, 1))
        self.scalesDepth.append(depthNewScale)

    def setNewAlpha(self, alpha):
        _check_alpha(self, alpha)

    def forward(self, x):
        x = F.leaky_relu(self.formatLayer(x), self.leak).view(x.size(0), -1, 4, 4)
        low = None
        for i, layer in enumerate(self.scaleLayers):
            if self.alpha > 0 and i == len(self.scaleLayers) - 1:
                low = F.interpolate(self.toRGBLayers[-2](x), scale_factor=2)
            x = F.leaky_relu(layer(F.interpolate(x, scale_factor=2)), self.leak)
        x = self.toRGBLayers[-1](x)
        return x if low is None else self.alpha * low + (1 - self.alpha) * x


class DNet(nn.Module):
    def __init__(self, depthScale0, leakyReluLeak=0.2, miniBatchNormalization=False, dimInput=3):
        super().__init__()
        self.leak, self.dimInput, self.alpha = leakyReluLeak, dimInput, 0
        self.miniBatchNormalization = miniBatchNormalization
        self.scalesDepth = [depthScale0]
        self.fromRGBLayers = nn.ModuleList([nn.Conv2d(dimInput, depthScale0, 1)])
        self.scaleLayers = nn.ModuleList()
        self.decisionLayer = nn.Linear(16 * depthScale0 + (16 if miniBatchNormalization else 0), 1)

    def addScale(self, depthNewScale):
        self.scaleLayers.append(nn.Conv2d(depthNewScale, self.scalesDepth[-1], 3, padding=1))
        self.fromRGBLayers.append(nn.Conv2d(self.dimInput, depthNewScale, 1))
        self.scalesDepth.append(depthNewScale)

    def setNewAlpha(self, alpha):
        _check_alpha(self, alpha)

    def forward(self, x, getFeature=False):
        low = None
        if self.alpha > 0 and self.scaleLayers:
            low = F.leaky_relu(self.fromRGBLayers[-2](F.avg_pool2d(x, 2)), self.leak)
        x = F.leaky_relu(self.fromRGBLayers[-1](x), self.leak)
        for i, layer in enumerate(reversed(self.scaleLayers)):
            x = F.avg_pool2d(F.leaky_relu(layer(x), self.leak), 2)
            if i == 0 and low is not None:
                x = self.alpha * low + (1 - self.alpha) * x
        feature = x.reshape(x.size(0), -1)
        if self.miniBatchNormalization:
            feature = torch.cat([feature, x.std(0).mean().expand(x.size(0), 16)], dim=1)
        out = self.decisionLayer(feature)
        return (out, feature) if getFeature else out
