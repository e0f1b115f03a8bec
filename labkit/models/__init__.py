"""Speaker embedding models: every model is one ``nn.Module`` from waveform to embedding.

    model = build_model(ModelConfig(depth=34, width=32))   # front-end -> ResNet -> pooling -> embedding
    embeddings = model(wav, lengths)                        # (B, samples) in [-1, 1] -> (B, embed_dim)
    save(model, "model.pt"); model = load("model.pt")       # also reads WeSpeaker / voxceleb_trainer files

The front-end lives inside the model, so training and testing can never use different features
and the features are computed on the model's device. The modules: ``speaker`` (the model and
``build_model``), ``resnet``, ``xvector``, ``pooling``, ``losses``, ``checkpoints`` (save/load), ``summary``.
"""

from labkit.models.checkpoints import CheckpointError, load, load_extra, save
from labkit.models.resnet import imagenet_resnet, resnet10, resnet18, resnet34, resnet50, resnet101, resnet152, speaker_resnet
from labkit.models.speaker import SpeakerModel, build_encoder, build_model

__all__ = [
    "CheckpointError", "SpeakerModel", "build_encoder", "build_model", "imagenet_resnet", "load", "load_extra",
    "resnet10", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "save", "speaker_resnet",
]
