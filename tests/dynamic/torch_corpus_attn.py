# ruff: noqa: E501 - program text inside strings
"""PyTorch programs in the style of the attention and sequence tutorials ("Language
translation with nn.Transformer", "Language modeling with nn.TransformerEncoder", NLP from
scratch with packed sequences, the scaled-dot-product-attention tutorial): written for this
project, weights set from formulas (no random init, dropout 0) so the printed values are
PyTorch's (recorded in torch_expected.json)."""

PROGRAMS: dict[str, str] = {}
FILL = r'''
def fill(model, scale=20.0):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_((((torch.arange(n) * 7 + i * 3) % 11 - 5).float() / scale).reshape(p.shape))
'''
PROGRAMS['sdpa_and_mha_basics'] = r'''
import torch
import torch.nn as nn
import torch.nn.functional as F

q = (torch.arange(24.0).reshape(1, 2, 3, 4) % 5 - 2) / 4
k = (torch.arange(24.0).reshape(1, 2, 3, 4) % 7 - 3) / 5
v = torch.arange(24.0).reshape(1, 2, 3, 4) / 10
q.requires_grad_(True)
out = F.scaled_dot_product_attention(q, k, v)
print(out, out.grad_fn.name())
print(F.scaled_dot_product_attention(q, k, v, is_causal=True)[0, 1])
keep = torch.tensor([[True, False, True], [True, True, False], [False, False, False]])
print(F.scaled_dot_product_attention(q, k, v, attn_mask=keep)[0, 0])
print(F.scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(3, 3) - torch.eye(3), scale=0.5)[0, 0])
out.sum().backward()
print(q.grad[0, 0])
try:
    F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(3, 3, dtype=torch.long))
except RuntimeError as e:
    print("RuntimeError", e)

mha = nn.MultiheadAttention(embed_dim=4, num_heads=2, batch_first=True)
print(mha)
print([(n, tuple(p.shape)) for n, p in mha.named_parameters()])
print(mha.in_proj_bias, mha.out_proj.bias)
with torch.no_grad():
    mha.in_proj_weight.copy_(((torch.arange(48.0) % 9 - 4) / 8).reshape(12, 4))
    mha.out_proj.weight.copy_(((torch.arange(16.0) % 5 - 2) / 4).reshape(4, 4))
x = (torch.arange(24.0).reshape(2, 3, 4) % 6 - 2.5) / 3
attn_out, attn_w = mha(x, x, x)
print(attn_out, attn_w, attn_out.grad_fn.name(), attn_w.grad_fn.name())
pad = torch.tensor([[False, False, True], [False, False, False]])
o, w = mha(x, x, x, key_padding_mask=pad, average_attn_weights=False)
print(w.shape, w[0, 1])
o2, w2 = mha(x, x, x, key_padding_mask=pad, need_weights=False)
print(w2, torch.allclose(o, o2, atol=1e-6))
causal = nn.Transformer.generate_square_subsequent_mask(3)
print(causal)
print(mha(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0][1])
try:
    mha(x, x, x, attn_mask=torch.zeros(2, 2))
except RuntimeError as e:
    print("RuntimeError", e)
try:
    nn.MultiheadAttention(5, 2)
except AssertionError as e:
    print("AssertionError", e)
cross = nn.MultiheadAttention(4, 1, kdim=2, vdim=3, add_bias_kv=True)
print(list(cross.state_dict().keys()), cross.in_proj_weight)
'''
PROGRAMS['translation_transformer'] = FILL + r'''
import math
import torch
import torch.nn as nn
from torch import Tensor

PAD_IDX, BOS_IDX, EOS_IDX = 1, 2, 3
SRC_VOCAB, TGT_VOCAB, EMB = 9, 8, 8


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size, dropout, maxlen=20):
        super().__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer('pos_embedding', pos_embedding)

    def forward(self, token_embedding):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, emb_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = nn.Transformer(d_model=EMB, nhead=2, num_encoder_layers=2,
                                          num_decoder_layers=1, dim_feedforward=16, dropout=0.0)
        self.generator = nn.Linear(EMB, TGT_VOCAB)
        self.src_tok_emb = TokenEmbedding(SRC_VOCAB, EMB)
        self.tgt_tok_emb = TokenEmbedding(TGT_VOCAB, EMB)
        self.positional_encoding = PositionalEncoding(EMB, dropout=0.0)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src, src_mask):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt, memory, tgt_mask):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt):
    src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


model = Seq2SeqTransformer()
fill(model)
print(sum(p.numel() for p in model.parameters()), len(model.state_dict()))
print(list(model.state_dict().keys())[:5])
src = torch.tensor([[2, 2, 2], [5, 4, 6], [7, 8, 3], [3, 1, 1], [1, 1, 1]])
tgt = torch.tensor([[2, 2, 2], [4, 5, 6], [6, 7, 3], [3, 3, 1]])
loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_IDX)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-9)
print(torch.equal(generate_square_subsequent_mask(4), nn.Transformer.generate_square_subsequent_mask(4)))
for epoch in range(6):
    model.train()
    tgt_input = tgt[:-1, :]
    src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
    logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)
    optimizer.zero_grad()
    tgt_out = tgt[1:, :]
    loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
    loss.backward()
    optimizer.step()
    print(epoch, round(loss.item(), 4), logits.shape, logits.grad_fn.name())


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
    for i in range(max_len - 1):
        tgt_mask = generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
        out = model.decode(ys, memory, tgt_mask)
        out = out.transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == EOS_IDX:
            break
    return ys


model.eval()
with torch.no_grad():
    src1 = src[:, :1]
    num_tokens = src1.shape[0]
    ys = greedy_decode(model, src1, torch.zeros(num_tokens, num_tokens).type(torch.bool), 6, BOS_IDX)
    print(ys.flatten().tolist())
    memory = model.encode(src1, torch.zeros(num_tokens, num_tokens).type(torch.bool))
    print(memory.shape, round(memory.sum().item(), 3))
'''
PROGRAMS['encoder_language_model'] = FILL + r'''
import math
import torch
from torch import nn


class TransformerModel(nn.Module):
    def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, norm_first=False, activation="relu"):
        super().__init__()
        self.model_type = 'Transformer'
        encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, 0.0, activation=activation,
                                                    batch_first=True, norm_first=norm_first)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers, enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask=None):
        src = self.embedding(src) * math.sqrt(self.d_model)
        output = self.transformer_encoder(src, src_mask, is_causal=src_mask is not None)
        return self.linear(output)


data = torch.tensor([[1, 4, 2, 5, 3, 6, 0], [2, 2, 5, 5, 1, 1, 3], [6, 5, 4, 3, 2, 1, 0]])
inputs, targets = data[:, :-1], data[:, 1:]
for norm_first, act in [(False, "relu"), (True, "gelu")]:
    model = TransformerModel(7, 8, 2, 12, 2, norm_first, act)
    fill(model)
    print(model.transformer_encoder.layers[0])
    mask = nn.Transformer.generate_square_subsequent_mask(inputs.size(1))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    for step in range(8):
        output = model(inputs, mask)
        loss = criterion(output.view(-1, 7), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % 2 == 1:
            print(step, f"{loss.item():.4f}", f"{math.exp(loss.item()):.3f}", output.grad_fn.name())
    model.eval()
    with torch.no_grad():
        logits = model(inputs[:1, :3], nn.Transformer.generate_square_subsequent_mask(3))
        print(logits.argmax(-1).tolist(), [round(v, 3) for v in logits[0, -1].tolist()])
'''
PROGRAMS['packed_names_classifier'] = FILL + r'''
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence, PackedSequence

names = ["anna", "bob", "carlos", "di", "eve", "fernando"]
labels = torch.tensor([0, 1, 2, 0, 1, 2])
letters = "abcdefghijklmnopqrstuvwxyz"
seqs = [torch.tensor([letters.index(c) + 1 for c in n]) for n in names]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, batch_first=True)
print(padded, lengths)
print(pad_sequence(seqs[:2], padding_value=-1, padding_side="left"))


class NameRNN(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.emb = nn.Embedding(27, 5, padding_idx=0)
        self.rnn = getattr(nn, kind)(5, 6, batch_first=True, bidirectional=kind == "GRU", num_layers=1 if kind == "GRU" else 2)
        self.out = nn.Linear(6 * (2 if kind == "GRU" else 1), 3)
        self.kind = kind

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.emb(x), lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        if self.kind == "LSTM":
            h = h[0]
        last = torch.cat([h[-2], h[-1]], dim=1) if self.kind == "GRU" else h[-1]
        return self.out(last), out


for kind in ["RNN", "LSTM", "GRU"]:
    model = NameRNN(kind)
    fill(model, 10.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    for epoch in range(5):
        logits, packed_out = model(padded, lengths)
        loss = nn.functional.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(kind, round(loss.item(), 4), logits.argmax(1).tolist())
    print(type(packed_out).__name__, packed_out.batch_sizes.tolist(), packed_out.sorted_indices.tolist(), packed_out.unsorted_indices.tolist())
    unpacked, out_lengths = pad_packed_sequence(packed_out, batch_first=True, total_length=9)
    print(unpacked.shape, out_lengths.tolist(), unpacked[3, :3, 0].tolist() == [0.0, 0.0, 0.0] or [round(v, 4) for v in unpacked[3, :3, 0].tolist()])
    print(unpacked[3, 2:, :2].abs().sum().item(), round(unpacked[0, 0, 0].item(), 4))

p = pack_sequence([torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, 5.0]), torch.tensor([6.0])])
print(p)
print(pad_packed_sequence(p))
print(isinstance(p, tuple), p._fields, PackedSequence(p.data, p.batch_sizes).batch_sizes)
x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]], requires_grad=True)
pk = pack_padded_sequence(x.unsqueeze(-1), [3, 2], batch_first=True)
print(pk.data.grad_fn.name(), pk.data.flatten().tolist())
back, lens = pad_packed_sequence(pk, batch_first=True, padding_value=9.0)
(back * torch.arange(1.0, 4.0).view(1, 3, 1)).sum().backward()
print(back.squeeze(-1), lens, x.grad)
try:
    pack_padded_sequence(x, [2, 3], batch_first=True)
except RuntimeError as e:
    print("RuntimeError", e)
try:
    pad_packed_sequence(pk, total_length=1)
except ValueError as e:
    print("ValueError", e)
'''
