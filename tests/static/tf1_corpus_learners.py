"""TF1 programs (part 13, issue #15): more of what a learner meets first, written for this
project on small seeded arrays: a GAN with two optimizers on ``var_list``s, a decayed learning
rate with ``staircase`` and the other ``tf.train`` schedules, gradient clipping by global
norm, a tied-weights autoencoder, an LSTM character model with ``sequence_length``,
bag-of-words pooling with ``tf.unique`` and the segment reductions, attention scores with
``einsum('...')``, a ``while_loop`` model saved and brought back with ``import_meta_graph``,
a hand-written RNN whose state is shaped by ``tf.shape(x)[0]``, and the smaller
``tf.nn``/``tf.math`` functions (``selu``, ``swish``, ``softsign``, ``relu_layer``,
``weighted_cross_entropy_with_logits``, ``zero_fraction``, ``reduce_std``/``reduce_variance``),
regularizers on ``get_variable``/``variable_scope``/``tf.layers.dense`` summed by
``tf.losses.get_regularization_loss``, and ``tf.sort``/``argsort``/``gather_nd``.
See tf1_oracle.py for how they run."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["gan_two_optimizers_var_list"] = """
rng = np.random.RandomState(0)
real = (rng.randn(16, 2) * 0.5 + [2.0, -1.0]).astype(np.float32)
noise = rng.randn(16, 3).astype(np.float32)
Z = tf.placeholder(tf.float32, [None, 3], name="Z")
X = tf.placeholder(tf.float32, [None, 2], name="X")
init = tf.constant_initializer(0.1)

def generator(z):
    with tf.variable_scope("GAN/Generator", reuse=tf.AUTO_REUSE):
        h = tf.layers.dense(z, 8, activation=tf.nn.leaky_relu, kernel_initializer=init)
        return tf.layers.dense(h, 2, kernel_initializer=init)

def discriminator(x, reuse=False):
    with tf.variable_scope("GAN/Discriminator", reuse=reuse):
        h = tf.layers.dense(x, 8, activation=tf.nn.leaky_relu,
                            kernel_initializer=tf.constant_initializer(-0.05))
        return tf.layers.dense(h, 1, kernel_initializer=tf.constant_initializer(0.2))

G = generator(Z)
r_logits = discriminator(X)
f_logits = discriminator(G, reuse=True)
disc_loss = tf.reduce_mean(
    tf.nn.sigmoid_cross_entropy_with_logits(logits=r_logits, labels=tf.ones_like(r_logits))
    + tf.nn.sigmoid_cross_entropy_with_logits(logits=f_logits, labels=tf.zeros_like(f_logits)))
gen_loss = tf.reduce_mean(
    tf.nn.sigmoid_cross_entropy_with_logits(logits=f_logits, labels=tf.ones_like(f_logits)))
gen_vars = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="GAN/Generator")
disc_vars = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="GAN/Discriminator")
print([v.name for v in gen_vars])
print([v.name for v in disc_vars])
gen_step = tf.train.RMSPropOptimizer(learning_rate=0.01).minimize(gen_loss, var_list=gen_vars)
disc_step = tf.train.RMSPropOptimizer(learning_rate=0.01).minimize(disc_loss, var_list=disc_vars)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(30):
        _, dloss = sess.run([disc_step, disc_loss], feed_dict={X: real, Z: noise})
        _, gloss = sess.run([gen_step, gen_loss], feed_dict={Z: noise})
        if i % 10 == 0:
            print(i, dloss, gloss)
    print(sess.run(G, {Z: noise[:3]}))
"""

PROGRAMS["exponential_decay_staircase_momentum"] = """
rng = np.random.RandomState(1)
xs = rng.rand(32, 3).astype(np.float32)
ys = (xs @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 1])
W = tf.Variable(tf.zeros([3, 1]), name="W")
b = tf.Variable(tf.zeros([1]), name="b")
loss = tf.reduce_mean(tf.square(tf.matmul(x, W) + b - y))
global_step = tf.Variable(0, trainable=False, name="global_step")
lr = tf.train.exponential_decay(0.1, global_step, decay_steps=5, decay_rate=0.5,
                                staircase=True)
smooth = tf.train.exponential_decay(0.1, global_step, 5, 0.5)
train = tf.train.MomentumOptimizer(lr, momentum=0.9).minimize(loss, global_step=global_step)
print(lr, smooth)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(12):
        l, rate, s, _ = sess.run([loss, lr, smooth, train], {x: xs, y: ys})
        print(i, l, rate, s)
    print(sess.run(global_step), sess.run(W).ravel(), sess.run(b))
"""

PROGRAMS["clip_by_global_norm_apply_gradients"] = """
rng = np.random.RandomState(2)
data = rng.randn(20, 4).astype(np.float32) * 3
target = rng.randn(20, 2).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4])
t = tf.placeholder(tf.float32, [None, 2])
W1 = tf.get_variable("W1", [4, 6], initializer=tf.constant_initializer(0.3))
b1 = tf.get_variable("b1", [6], initializer=tf.zeros_initializer())
W2 = tf.get_variable("W2", [6, 2], initializer=tf.constant_initializer(-0.2))
out = tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2)
loss = tf.losses.mean_squared_error(t, out)
opt = tf.train.AdamOptimizer(0.05)
grads_and_vars = opt.compute_gradients(loss)
grads, variables = zip(*grads_and_vars)
clipped, norm = tf.clip_by_global_norm(grads, 1.0)
train = opt.apply_gradients(zip(clipped, variables))
print([v.name for v in variables], norm)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(15):
        n, l, _ = sess.run([norm, loss, train], {x: data, t: target})
        if i % 3 == 0:
            print(i, n, l)
    print(sess.run(tf.global_norm(clipped), {x: data, t: target}))
"""

PROGRAMS["autoencoder_tied_weights"] = """
rng = np.random.RandomState(3)
codes = rng.randn(30, 2).astype(np.float32)
data = np.tanh(codes @ rng.randn(2, 6).astype(np.float32)).astype(np.float32)
X = tf.placeholder(tf.float32, shape=[None, 6])
W = tf.Variable(rng.randn(6, 2).astype(np.float32) * 0.1, name="weights")
b_enc = tf.Variable(tf.zeros([2]), name="b_enc")
b_dec = tf.Variable(tf.zeros([6]), name="b_dec")
hidden = tf.nn.sigmoid(tf.matmul(X, W) + b_enc)
recon = tf.matmul(hidden, tf.transpose(W)) + b_dec
loss = tf.reduce_mean(tf.reduce_sum(tf.square(recon - X), axis=1))
l2 = 1e-3 * tf.nn.l2_loss(W)
train = tf.train.AdagradOptimizer(0.5).minimize(loss + l2)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(40):
        for start in range(0, 30, 10):
            sess.run(train, {X: data[start:start + 10]})
        if epoch % 10 == 0:
            print(epoch, sess.run([loss, l2], {X: data}))
    print(sess.run(hidden, {X: data[:3]}))
"""

PROGRAMS["char_lstm_sequence_length"] = """
text = "hello world, hello tensorflow"
chars = sorted(set(text))
idx = {c: i for i, c in enumerate(chars)}
V, T, H = len(chars), 6, 8
starts = [0, 6, 12, 18]
xs = np.array([[idx[c] for c in text[s:s + T]] for s in starts], np.int32)
ys = np.array([[idx[c] for c in text[s + 1:s + T + 1]] for s in starts], np.int32)
lens = np.array([6, 6, 4, 5], np.int32)
inputs = tf.placeholder(tf.int32, [None, T], name="inputs")
targets = tf.placeholder(tf.int32, [None, T], name="targets")
seq_len = tf.placeholder(tf.int32, [None], name="seq_len")
emb = tf.get_variable("embedding", [V, 5], initializer=tf.constant_initializer(0.1))
emb = emb + tf.constant(np.linspace(-1, 1, V * 5).reshape(V, 5).astype(np.float32))
cell = tf.nn.rnn_cell.LSTMCell(H, initializer=tf.constant_initializer(0.05))
outputs, state = tf.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, inputs),
                                   sequence_length=seq_len, dtype=tf.float32)
print(outputs, state.c, state.h)
W = tf.get_variable("softmax_w", [H, V], initializer=tf.constant_initializer(0.02))
b = tf.get_variable("softmax_b", [V], initializer=tf.zeros_initializer())
logits = tf.reshape(tf.matmul(tf.reshape(outputs, [-1, H]), W) + b, [-1, T, V])
mask = tf.sequence_mask(seq_len, T, dtype=tf.float32)
xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
loss = tf.reduce_sum(xent * mask) / tf.reduce_sum(mask)
train = tf.train.AdamOptimizer(0.05).minimize(loss)
feed = {inputs: xs, targets: ys, seq_len: lens}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(25):
        l, _ = sess.run([loss, train], feed)
        if i % 8 == 0:
            print(i, l)
    pred = sess.run(tf.argmax(logits, 2), feed)
    print("".join(chars[k] for k in pred[0]))
"""

PROGRAMS["bag_of_words_unique_segments"] = """
words = np.array([4, 1, 4, 7, 1, 4, 2], np.int32)
doc_of_word = np.array([0, 0, 0, 1, 1, 2, 2], np.int32)
ids = tf.placeholder(tf.int32, [None], name="ids")
docs = tf.placeholder(tf.int32, [None], name="docs")
vocab, where = tf.unique(ids)
u = tf.unique_with_counts(ids, out_idx=tf.int64)
print(vocab, where, u.count)
table = tf.Variable(np.arange(24, dtype=np.float32).reshape(8, 3) / 10.0, name="table")
vecs = tf.nn.embedding_lookup(table, ids)
pooled_max = tf.segment_max(vecs, docs)
pooled_min = tf.math.segment_min(vecs, docs)
pooled_mean = tf.segment_mean(vecs, docs)
pooled_prod = tf.segment_prod(vecs + 1.0, docs)
by_word = tf.unsorted_segment_max(vecs, tf.cast(where, tf.int32), 8)
word_mean = tf.unsorted_segment_mean(vecs, where, 4)
score = tf.reduce_sum(pooled_max * pooled_mean) + tf.reduce_sum(pooled_prod) * 0.01
grad, = tf.gradients(score, table)
print(pooled_max, by_word, word_mean)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    feed = {ids: words, docs: doc_of_word}
    print(sess.run([vocab, where], feed))
    print(sess.run(u, feed))
    print(sess.run([pooled_max, pooled_min, pooled_mean, pooled_prod], feed))
    print(sess.run(by_word, feed)[:4])
    print(sess.run(word_mean, feed))
    print(sess.run(tf.convert_to_tensor(grad), feed))
    raises(lambda: sess.run(pooled_max, {ids: words, docs: [0, 1, 0, 1, 1, 2, 2]}),
           "segment ids are not increasing")
raises(lambda: tf.gradients(tf.reduce_sum(tf.unique(vecs[:, 0]).y), table),
       "No gradient defined for operation", "(op type: Unique)")
"""

PROGRAMS["attention_scores_einsum_ellipsis"] = """
rng = np.random.RandomState(4)
q = tf.placeholder(tf.float32, [None, 3, 4], name="q")
k = tf.placeholder(tf.float32, [None, 5, 4], name="k")
v = tf.placeholder(tf.float32, [None, 5, 2], name="v")
Wq = tf.Variable(rng.randn(4, 4).astype(np.float32) * 0.3, name="Wq")
scores = tf.einsum("...qd,...kd->...qk", tf.einsum("...d,de->...e", q, Wq), k) / 2.0
weights = tf.nn.softmax(scores)
context = tf.einsum("...qk,...kv->...qv", weights, v)
pooled = tf.einsum("bqv->bv", context)
print(scores, weights, context, pooled)
loss = tf.reduce_sum(tf.square(pooled - 1.0))
grad, = tf.gradients(loss, Wq)
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
feed = {q: rng.randn(2, 3, 4).astype(np.float32), k: rng.randn(2, 5, 4).astype(np.float32),
        v: rng.randn(2, 5, 2).astype(np.float32)}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(context, feed)[0])
    print(sess.run(grad, feed))
    for i in range(5):
        print(i, sess.run([loss, train], feed)[0])
raises(lambda: tf.einsum("...ij,...jk", tf.zeros([2, 3, 4]), tf.zeros([2, 4, 5])),
       "without ellipsis (...) in the output subscripts")
"""

PROGRAMS["while_loop_model_meta_graph_round_trip"] = """
import os, tempfile
d = tempfile.mkdtemp()
x = tf.placeholder(tf.float32, [None, 2], name="x")
steps = tf.placeholder(tf.int32, [], name="steps")
W = tf.Variable([[0.5, -0.2], [0.1, 0.4]], name="W")
def body(i, h):
    return i + 1, tf.tanh(tf.matmul(h, W) + 0.1)
_, h = tf.while_loop(lambda i, h: i < steps, body, [tf.constant(0), x])
out = tf.cond(tf.reduce_mean(h) > 0, lambda: h * 2.0, lambda: h - 1.0)
loss = tf.reduce_mean(tf.square(out - 0.5), name="loss")
train = tf.train.GradientDescentOptimizer(0.3).minimize(loss, name="train")
tf.add_to_collection("train_op", train)
feed = {"x:0": np.array([[1.0, 0.5], [-0.5, 2.0]], np.float32), "steps:0": 3}
saver = tf.train.Saver()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(3):
        print(i, sess.run([loss, train], feed)[0])
    path = saver.save(sess, os.path.join(d, "loop-model"), global_step=3)
    print(os.path.basename(path))
tf.reset_default_graph()
restorer = tf.train.import_meta_graph(path + ".meta")
graph = tf.get_default_graph()
train_op = tf.get_collection("train_op")[0]
with tf.Session() as sess:
    restorer.restore(sess, path)
    print(sess.run("W:0"))
    for i in range(3):
        print(i, sess.run(["loss:0", train_op], feed)[0])
    print(sess.run(graph.get_tensor_by_name("loss:0"), {"x:0": feed["x:0"], "steps:0": 5}))
"""

PROGRAMS["manual_rnn_state_shaped_by_the_batch"] = """
T, D, H = 4, 3, 5
x = tf.placeholder(tf.float32, [None, T, D], name="x")
batch = tf.shape(x)[0]
h0 = tf.zeros([batch, H], name="h0")
lengths = tf.fill([batch], T)
Wx = tf.Variable(np.linspace(-0.5, 0.5, D * H).reshape(D, H).astype(np.float32), name="Wx")
Wh = tf.Variable(np.eye(H, dtype=np.float32) * 0.5, name="Wh")
xs = tf.unstack(tf.transpose(x, [1, 0, 2]), num=T)
h = h0
for t in range(T):
    h = tf.tanh(tf.matmul(xs[t], Wx) + tf.matmul(h, Wh))
cell = tf.nn.rnn_cell.BasicRNNCell(H)
_, h_rnn = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=h0)
ones = tf.ones([2, batch, tf.shape(x)[2]], tf.int32)
print(h0, lengths, ones)
loss = tf.reduce_sum(tf.square(h)) + 0.0 * tf.reduce_sum(h_rnn)
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
data = np.sin(np.arange(2 * T * D, dtype=np.float32)).reshape(2, T, D)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([h0, lengths, ones], {x: data[:1]}))
    for i in range(4):
        print(i, sess.run([loss, train], {x: data})[0])
    print(sess.run(h, {x: data}))
"""

PROGRAMS["learning_rate_schedules"] = """
step = tf.placeholder(tf.int32, [], name="step")
gs = tf.Variable(0, trainable=False, name="global_step")
rates = [
    tf.train.piecewise_constant(step, [3, 6], [1.0, 0.5, 0.1]),
    tf.train.polynomial_decay(0.1, step, 5, end_learning_rate=0.01, power=2.0),
    tf.train.polynomial_decay(0.1, step, 4, cycle=True),
    tf.train.inverse_time_decay(0.1, step, 2, 0.5),
    tf.train.inverse_time_decay(0.1, step, 2, 0.5, staircase=True),
    tf.train.natural_exp_decay(0.1, step, 3, 0.4),
    tf.train.natural_exp_decay(0.1, step, 3, 0.4, staircase=True),
    tf.train.cosine_decay(0.1, step, 6, alpha=0.1),
]
print([r.dtype for r in rates], [r.shape for r in rates])
x = tf.placeholder(tf.float32, [None])
w = tf.Variable(3.0, name="w")
loss = tf.reduce_mean(tf.square(x * w - 1.0))
lr = tf.train.cosine_decay(0.2, gs, 8)
train = tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=gs)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for s in [0, 1, 3, 4, 5, 6, 7, 9, 12]:
        print(s, sess.run(rates, {step: s}))
    for i in range(10):
        print(i, sess.run([loss, lr, train], {x: [1.0, 2.0]})[:2])
    print(sess.run([w, gs]))
"""

PROGRAMS["nn_activations_weighted_loss_and_moments"] = """
rng = np.random.RandomState(5)
xv = rng.randn(4, 3).astype(np.float32)
xv[0, 1] = 0.0
x = tf.placeholder(tf.float32, [None, 3], name="x")
z = tf.placeholder(tf.float32, [None, 3], name="z")
W = tf.Variable(rng.randn(3, 2).astype(np.float32), name="W")
outs = [tf.nn.selu(x), tf.nn.swish(x), tf.nn.softsign(x), tf.nn.relu_layer(x, W, [0.1, -0.2]),
        tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=3.0),
        tf.nn.zero_fraction(tf.nn.relu(x)), tf.math.reduce_std(x), tf.math.reduce_variance(x, 1),
        tf.math.reduce_std(x, axis=0, keepdims=True)]
print([o.shape for o in outs])
print(outs[0], outs[2], outs[3], outs[4], outs[6], outs[7])
grads = tf.gradients(tf.add_n([tf.reduce_sum(o) for o in outs[:5] + outs[6:]]), [x, W])
feed = {x: xv, z: (rng.rand(4, 3) > 0.5).astype(np.float32)}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for o in sess.run(outs, feed):
        print(o)
    print(sess.run(grads, feed))
"""

PROGRAMS["regularizers_in_get_variable_and_dense"] = """
rng = np.random.RandomState(6)
xv = rng.randn(12, 3).astype(np.float32)
yv = (xv @ np.array([[1.0], [-1.0], [0.5]], np.float32)).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 1])
print(tf.losses.get_regularization_loss())
with tf.variable_scope("net", regularizer=lambda w: 0.01 * tf.reduce_sum(tf.abs(w))):
    W1 = tf.get_variable("W1", [3, 4], initializer=tf.constant_initializer(0.2))
    b1 = tf.get_variable("b1", [4], initializer=tf.zeros_initializer(),
                         regularizer=lambda b: None)
h = tf.nn.relu(tf.matmul(x, W1) + b1)
out = tf.layers.dense(h, 1, kernel_initializer=tf.constant_initializer(-0.3),
                      kernel_regularizer=lambda w: 0.05 * tf.nn.l2_loss(w), name="head")
reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
print(len(reg_losses), reg_losses[1])
print(tf.losses.get_regularization_losses("head"))
reg = tf.losses.get_regularization_loss()
print(reg)
mse = tf.losses.mean_squared_error(y, out)
train = tf.train.GradientDescentOptimizer(0.1).minimize(mse + reg)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(6):
        print(i, sess.run([mse, reg, train], {x: xv, y: yv})[:2])
    print(sess.run(reg_losses))
"""

PROGRAMS["sort_argsort_and_gather_nd"] = """
rng = np.random.RandomState(7)
xv = np.array([[3., 1., 2.], [0., 5., 5.]], np.float32)
x = tf.placeholder(tf.float32, [None, 3], name="x")
p = tf.Variable(rng.randn(3, 4, 2).astype(np.float32), name="p")
outs = [tf.sort(x), tf.argsort(x), tf.sort(x, direction="DESCENDING"),
        tf.argsort(x, direction="DESCENDING"), tf.sort(xv, axis=0), tf.argsort(xv, axis=0),
        tf.gather_nd(x, [[0, 1], [1, 2]]), tf.gather_nd(x, [[1]]),
        tf.gather_nd(p, [[[0, 3], [2, 1]], [[1, 1], [0, 0]]]), tf.gather_nd(p, [[2, 1, 0]])]
print(outs[0], outs[2], outs[6], outs[7], [o.shape for o in outs])
ids = tf.placeholder(tf.int32, [None, 2], name="ids")
picked = tf.gather_nd(p, ids)
loss = tf.reduce_sum(tf.square(picked)) + tf.reduce_sum(tf.sort(x) * [1., 2., 3.])
gp, gx = tf.gradients(loss, [p, x])
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for o in sess.run(outs, {x: xv}):
        print(o)
    print(sess.run(picked, {ids: [[0, 0], [2, 3], [0, 0]]}))
    print(sess.run([tf.convert_to_tensor(gp), gx], {ids: [[0, 0], [2, 3], [0, 0]], x: xv}))
"""
