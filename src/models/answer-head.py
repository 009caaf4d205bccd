"""The answer rows of a model's output layer (fraudflow `model train`, src/models/answer-head.ts).

write: copies an F32 GGUF with an output layer of its own (``output.weight``; SmolLM2 shares it with the token
embeddings, which must not change: the answer tokens are read as input too) whose rows for the two answers are
set from the answer head: their difference is the head's direction, and both are lifted along the states' mean
direction until they are the two likeliest tokens, so the answer's probability mass starts on them.

read: prints the model's answer direction, (yes row - no row) times the states' scale, as JSON: its dot product
with a unit state (what Ollama's embeddings are) is the model's log-odds of answering yes.

The normed state has unit root mean square before its gain, so its length is about the gain's length |g|.

usage: answer-head.py write <in-f32.gguf> <out-f32.gguf> <head.json> <yes token> <no token>
       answer-head.py read <model.gguf> <yes token> <no token>
"""

import json
import sys

import gguf
import numpy as np
from gguf.quants import dequantize

# How far above every other token the two answers start, in logits, at the mean state.
LIFT_MARGIN = 4.0


def tensor(reader: gguf.GGUFReader, name: str):
    return next((t for t in reader.tensors if t.name == name), None)


def matrix(t) -> np.ndarray:
    return np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1, int(t.shape[0]))


def token_id(reader: gguf.GGUFReader, text: str) -> int:
    """The vocabulary entry of an answer word with its leading space (byte-level BPE or SentencePiece)."""
    field = reader.fields["tokenizer.ggml.tokens"]
    vocab = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    for candidate in (text.replace(" ", "\u0120"), text.replace(" ", "\u2581"), text):
        if candidate in vocab:
            return vocab.index(candidate)
    sys.exit(f"the model's vocabulary has no single token for {text!r}")


def state_scale(reader: gguf.GGUFReader) -> float:
    return float(np.linalg.norm(matrix(tensor(reader, "output_norm.weight"))))


def output_rows(reader: gguf.GGUFReader) -> np.ndarray:
    return matrix(tensor(reader, "output.weight") or tensor(reader, "token_embd.weight"))


def write(src: str, dst: str, head_file: str, yes_text: str, no_text: str) -> None:
    head = json.load(open(head_file))
    d = np.asarray(head["direction"], np.float32)
    u = np.asarray(head["meanState"], np.float32)
    reader = gguf.GGUFReader(src, "r")
    yes, no = token_id(reader, yes_text), token_id(reader, no_text)
    scale = state_scale(reader)
    out = output_rows(reader).copy()
    logits = out @ (scale * u / np.linalg.norm(u))
    others = np.delete(logits, [yes, no]).max()
    lift = others + LIFT_MARGIN - (logits[yes] + logits[no]) / 2
    middle = (out[yes] + out[no]) / 2 + lift * u / (np.linalg.norm(u) * scale)
    out[yes], out[no] = middle + d / (2 * scale), middle - d / (2 * scale)
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(dst, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    for t in reader.tensors:
        if t.tensor_type != gguf.GGMLQuantizationType.F32:
            sys.exit(f"{src} is not an F32 model ({t.name} is {t.tensor_type.name})")
        if t.name != "output.weight":
            writer.add_tensor(t.name, np.asarray(t.data))
    writer.add_tensor("output.weight", out)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def read(model: str, yes_text: str, no_text: str) -> None:
    reader = gguf.GGUFReader(model, "r")
    rows = output_rows(reader)
    direction = (rows[token_id(reader, yes_text)] - rows[token_id(reader, no_text)]) * state_scale(reader)
    print(json.dumps([float(x) for x in direction]))


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "write":
        write(*sys.argv[2:7])
    elif len(sys.argv) == 5 and sys.argv[1] == "read":
        read(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
