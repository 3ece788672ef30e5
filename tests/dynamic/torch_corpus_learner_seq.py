# ruff: noqa: E501 - program text inside strings
"""Sequence and word programs as a learner writes them from PyTorch's NLP tutorials (issue #15,
third round): an n-gram language model and CBOW with ``nn.Embedding`` + ``NLLLoss``, and a
char-level name classifier (one-hot letters, a hand-written RNN cell with ``LogSoftmax``, then
``nn.RNN``/``nn.GRU``/``nn.LSTM`` classifiers, ``topk`` for the guessed category). Written for
this project, not copied; weights come from formulas. ``test_torch_corpus_learner.py`` checks
them against PyTorch's recorded output."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["ngram_embeddings"] = '''
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

CONTEXT_SIZE = 2
EMBEDDING_DIM = 5
test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held""".split()
ngrams = [
    ([test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)], test_sentence[i])
    for i in range(CONTEXT_SIZE, len(test_sentence))
]
print(ngrams[:3])
vocab = sorted(set(test_sentence))
word_to_ix = {word: i for i, word in enumerate(vocab)}
print(len(vocab), word_to_ix["thy"])

def fill_(model):
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.61 + k).reshape(p.shape) * 0.3)

class NGramLanguageModeler(nn.Module):
    def __init__(self, vocab_size, embedding_dim, context_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 16)
        self.linear2 = nn.Linear(16, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs

losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
fill_(model)
print(model)
optimizer = optim.SGD(model.parameters(), lr=0.05)
for epoch in range(3):
    total_loss = 0
    for context, target in ngrams:
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
        model.zero_grad()
        log_probs = model(context_idxs)
        loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    losses.append(round(total_loss, 3))
print(losses)
print(model.embeddings.weight[word_to_ix["beauty's"]])
with torch.no_grad():
    lp = model(torch.tensor([word_to_ix["thy"], word_to_ix["besiege"]]))
    print(vocab[lp.argmax().item()], lp.exp().sum().item() > 0.999, lp.shape)

CONTEXT = 2
raw_text = """We are about to study the idea of a computational process.
Computational processes are abstract beings that inhabit computers.""".split()
vocab2 = sorted(set(raw_text))
w2i = {word: i for i, word in enumerate(vocab2)}
data = []
for i in range(CONTEXT, len(raw_text) - CONTEXT):
    context = [raw_text[i - j] for j in range(CONTEXT, 0, -1)] + [raw_text[i + j] for j in range(1, CONTEXT + 1)]
    data.append((context, raw_text[i]))
print(data[:2])

class CBOW(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        self.proj = nn.Linear(dim, vocab_size)
    def forward(self, inputs):
        return F.log_softmax(self.proj(self.emb(inputs).sum(dim=0)), dim=-1)

def make_context_vector(context, word_to_ix):
    idxs = [word_to_ix[w] for w in context]
    return torch.tensor(idxs, dtype=torch.long)

cbow = CBOW(len(vocab2), 4)
fill_(cbow)
opt = optim.Adam(cbow.parameters(), lr=0.05)
for epoch in range(4):
    total = 0.0
    for context, target in data:
        opt.zero_grad()
        loss = F.nll_loss(cbow(make_context_vector(context, w2i)).unsqueeze(0), torch.tensor([w2i[target]]))
        loss.backward()
        opt.step()
        total += loss.item()
    print(epoch, f"{total:.4f}")
print(make_context_vector(data[0][0], w2i), cbow.emb.weight.grad.abs().sum() > 0)
emb = nn.Embedding(10, 3, padding_idx=0)
print(emb.weight[0], emb)
try:
    model.embeddings(torch.tensor([len(vocab)]))
except IndexError as e:
    print(e)
'''

PROGRAMS["char_rnn_names"] = '''
import string
import torch.nn as nn

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
category_lines = {
    "English": ["Abbott", "Baker", "Carter"],
    "French": ["Abel", "Beaumont", "Chevalier"],
    "Italian": ["Abate", "Bianchi", "Conti"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)

def letterToIndex(letter):
    return all_letters.find(letter)

def letterToTensor(letter):
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor

def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor

print(n_letters, letterToTensor('J').nonzero())
print(lineToTensor('Jones').size())

def fill_(model, scale=0.2):
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(torch.cos(torch.arange(p.numel(), dtype=torch.float32) * 0.37 + k).reshape(p.shape) * scale)

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = torch.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.h2o(hidden)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)

n_hidden = 8
rnn = RNN(n_letters, n_hidden, n_categories)
fill_(rnn)
print(rnn)
output, next_hidden = rnn(letterToTensor('A'), rnn.initHidden())
print(output)

def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i

print(categoryFromOutput(output))
criterion = nn.NLLLoss()
learning_rate = 0.05

def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()

current_loss = 0
for it in range(1, 19):
    category = all_categories[it % 3]
    line = category_lines[category][(it // 3) % 3]
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    output, loss = train(category_tensor, lineToTensor(line))
    current_loss += loss
    if it % 6 == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = '✓' if guess == category else '✗ (%s)' % category
        print('%d %d%% %.4f %s / %s %s' % (it, it / 18 * 100, loss, line, guess, correct))
print(f"{current_loss / 18:.4f}")

def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output

with torch.no_grad():
    output = evaluate(lineToTensor("Bianco"))
    topv, topi = output.topk(2, 1, True)
    for i in range(2):
        print('(%.2f) %s' % (topv[0][i].item(), all_categories[topi[0][i].item()]))

class CharClassifier(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = getattr(nn, kind)(n_letters, n_hidden, batch_first=False)
        self.h2o = nn.Linear(n_hidden, n_categories)
        self.softmax = nn.LogSoftmax(dim=1)
    def forward(self, line_tensor):
        out, state = self.rnn(line_tensor)
        hidden = state[0] if isinstance(state, tuple) else state
        return self.softmax(self.h2o(hidden[0]))

for kind in ("RNN", "GRU", "LSTM"):
    model = CharClassifier(kind)
    fill_(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for it in range(6):
        category = all_categories[it % 3]
        line = category_lines[category][it % 3]
        loss = criterion(model(lineToTensor(line)), torch.tensor([it % 3]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(lineToTensor("Conti"))
    print(kind, f"{loss.item():.4f}", out.argmax(1).item(), [tuple(p.shape) for p in model.rnn.parameters()][:2])
print(model)
'''

PROGRAMS["lstm_pos_tagger"] = '''
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)

training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
EMBEDDING_DIM = 6
HIDDEN_DIM = 6

class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores

model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
with torch.no_grad():
    for k, p in enumerate(model.parameters()):
        p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.9 + k).reshape(p.shape) * 0.3)
print(model)
print([(n, tuple(p.shape)) for n, p in model.lstm.named_parameters()])
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)
with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores)
for epoch in range(30):
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
    if epoch % 10 == 9:
        print(epoch, f"{loss.item():.5f}")
with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores)
    print(tag_scores.argmax(dim=1), [list(tag_to_ix)[i] for i in tag_scores.argmax(dim=1).tolist()])
lstm = nn.LSTM(3, 3)
with torch.no_grad():
    for k, p in enumerate(lstm.parameters()):
        p.copy_(torch.cos(torch.arange(p.numel(), dtype=torch.float32) + k).reshape(p.shape) * 0.4)
inputs = [torch.linspace(-1, 1, 3).view(1, 3) * (i + 1) for i in range(5)]
hidden = (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
for i in inputs:
    out, hidden = lstm(i.view(1, 1, -1), hidden)
print(out.detach(), hidden[1])  # out's grad_fn: PyTorch's fused MkldnnRnnLayerBackward0
inputs = torch.cat(inputs).view(len(inputs), 1, -1)
out, hidden = lstm(inputs, (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3)))
print(out[-1], hidden[0].shape)
try:
    lstm(torch.zeros(2, 1, 4))
except RuntimeError as e:
    print(e)
'''

PROGRAMS["bag_of_words_classifier"] = '''
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
        ("Give it to me".split(), "ENGLISH"),
        ("No creo que sea una buena idea".split(), "SPANISH"),
        ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]
test_data = [("Yo creo que si".split(), "SPANISH"),
             ("it is lost on me".split(), "ENGLISH")]
word_to_ix = {}
for sent, _ in data + test_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(len(word_to_ix), list(word_to_ix)[:5])
VOCAB_SIZE = len(word_to_ix)
NUM_LABELS = 2

class BoWClassifier(nn.Module):
    def __init__(self, num_labels, vocab_size):
        super(BoWClassifier, self).__init__()
        self.linear = nn.Linear(vocab_size, num_labels)
    def forward(self, bow_vec):
        return F.log_softmax(self.linear(bow_vec), dim=1)

def make_bow_vector(sentence, word_to_ix):
    vec = torch.zeros(len(word_to_ix))
    for word in sentence:
        vec[word_to_ix[word]] += 1
    return vec.view(1, -1)

def make_target(label, label_to_ix):
    return torch.LongTensor([label_to_ix[label]])

model = BoWClassifier(NUM_LABELS, VOCAB_SIZE)
with torch.no_grad():
    model.linear.weight.copy_(torch.sin(torch.arange(2 * VOCAB_SIZE, dtype=torch.float32)).reshape(2, -1) * 0.1)
    model.linear.bias.fill_(0.01)
for param in model.parameters():
    print(param.shape, param[..., :3])
with torch.no_grad():
    sample = data[0]
    bow_vector = make_bow_vector(sample[0], word_to_ix)
    log_probs = model(bow_vector)
    print(log_probs)
label_to_ix = {"SPANISH": 0, "ENGLISH": 1}
with torch.no_grad():
    for instance, label in test_data:
        print(model(make_bow_vector(instance, word_to_ix)))
print(next(model.parameters())[:, word_to_ix["creo"]])
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)
for epoch in range(100):
    for instance, label in data:
        model.zero_grad()
        bow_vec = make_bow_vector(instance, word_to_ix)
        target = make_target(label, label_to_ix)
        log_probs = model(bow_vec)
        loss = loss_function(log_probs, target)
        loss.backward()
        optimizer.step()
with torch.no_grad():
    for instance, label in test_data:
        print(model(make_bow_vector(instance, word_to_ix)))
print(next(model.parameters())[:, word_to_ix["creo"]])
print(torch.LongTensor([1, 2]).dtype, torch.FloatTensor([1, 2]), torch.Tensor(2, 3).shape)
print(make_bow_vector("me me gusta".split(), word_to_ix)[0, :3])
'''
