"""Writes a fine-tuned GGUF again with the base model's metadata (fraudflow `model train`).

llama-finetune saves every hyperparameter its llama.cpp knows (pooling type, soft-capping, rope scaling, the
training context as the context length, ...) and drops the chat template. Ollama reads some of those keys, so the
served model would not run as the base does. The tensors are the fine-tuned ones; every key-value is the base's.

usage: base-metadata.py <base.gguf> <fine-tuned.gguf> <out.gguf>
"""

import sys

import gguf
from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata


def base_metadata(base: gguf.GGUFReader) -> dict[str, MetadataDetails]:
    metadata = {}
    for field in base.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        metadata[field.name] = MetadataDetails(value_type, field.contents(), sub_type=sub_type)
    return metadata


def main() -> None:
    base_file, tuned_file, out_file = sys.argv[1:4]
    base = gguf.GGUFReader(base_file, "r")
    tuned = gguf.GGUFReader(tuned_file, "r")
    arch = base.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    if tuned.get_field(gguf.Keys.General.ARCHITECTURE).contents() != arch:
        sys.exit(f"{tuned_file} is not a {arch} model like {base_file}")
    wanted = base_metadata(base)
    extra = [name for name in tuned.fields if name not in wanted]
    writer = gguf.GGUFWriter(out_file, arch=arch, endianess=tuned.endianess)
    copy_with_new_metadata(tuned, writer, wanted, extra)


if __name__ == "__main__":
    main()
