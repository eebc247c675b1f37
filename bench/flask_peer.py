#!/usr/bin/env python3
"""A minimal Flask + PyTorch classify service: the peer for the API figures of `npm run bench`.

    python3 bench/flask_peer.py [--port 5005] [--image-size 96] [--threads N]

What a small Flask app serving this model does: POST /predict with a multipart file field
`image`; Pillow decodes it, crops and resizes it to the model's input (centre "cover", Lanczos,
as the service does), scales to [0, 1], one forward pass of the same CNN (untrained weights: a
pass costs the same), JSON back. Flask's own threaded server, as `app.run()` starts it. GET
/readyz answers once the model is built and warmed. Run by `npx tsx bench/flask-peer.ts`, which
sends it the same load as the service. Needs Debian's python3-torch and python3-flask.
"""
import argparse
import logging
import os
import sys

import numpy as np
import torch
from flask import Flask, jsonify, request
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_peer import original_cnn  # noqa: E402


def create_app(image_size: int) -> Flask:
    torch.manual_seed(0)
    model = original_cnn(image_size).eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, image_size, image_size))
    app = Flask(__name__)

    @app.post("/predict")
    def predict():
        upload = request.files.get("image")
        if upload is None:
            return jsonify(error="send the image in the multipart field 'image'"), 400
        image = ImageOps.fit(Image.open(upload.stream).convert("RGB"), (image_size, image_size), Image.LANCZOS)
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            probability = float(model(x).item())
        return jsonify(probability=probability, label="malignant" if probability >= 0.5 else "benign")

    @app.get("/readyz")
    def ready():
        return jsonify(status="ready")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # One log line per request would cost more than some of what is measured.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    create_app(args.image_size).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
