"""Deliberately broken trainer engines ("mutants"): one realistic defect each, for proving falsifiers can fail.

Each subclasses the real :class:`~engines.trainer.engine.TorchTrainer` and changes exactly one
decision the way a plausible bug would. None of them merely raises: a falsifier must *observe*
the wrong behaviour (a wrong number, a refusal that should pass, a pass that should refuse).
Each is registered once, in the table of :mod:`engines.trainer.plugin` (name ->
``.submodule:Class``, imported when first built), so this package lists nothing. The families:

* :mod:`.core` -- presets and arch defaults, vocab preflight, Chinchilla counts and bands,
  GGUF q/k un-permute, warm-up, `apr inspect` of a safetensors file;
* :mod:`.hf_arch` -- the HF-architecture identity recorded at `apr import`;
* :mod:`.pos_gqa` -- absolute position embeddings and the GQA attention kernel;
* :mod:`.init` -- `--init`, the Chinchilla gate's scope and `--synthetic`;
* :mod:`.schedule_data` -- the learning-rate schedule, the held-out set and the data feed;
* :mod:`.act_alibi` -- the activation kernels and the ALiBi slopes;
* :mod:`.loader` -- the shard loader (pretokenize-bin).
"""
