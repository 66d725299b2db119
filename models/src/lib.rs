//! Tokenizers and (in later issues) the GPT and BERT models built on `autograd`.
