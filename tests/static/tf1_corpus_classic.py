"""TF1 programs (part 11, issue #15): the classic material once more, written for this project
on small seeded arrays: the low-level API guide's regression, a logistic regression on
placeholders of unknown rank, word2vec-style embeddings, a char-RNN, an autoencoder, a
checkpoint round trip through ``import_meta_graph`` with summaries in the graph, a FileWriter
log read back, a padded conv net, and the array functions on unknown rank. See tf1_oracle.py
for how they run."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["guide_linear_regression_feed"] = """
x = tf.placeholder(tf.float32, shape=[None, 1])
y_true = tf.placeholder(tf.float32, shape=[None, 1])
linear_model = tf.layers.Dense(units=1, kernel_initializer=tf.constant_initializer(0.5))
y_pred = linear_model(x)
loss = tf.losses.mean_squared_error(labels=y_true, predictions=y_pred)
optimizer = tf.train.GradientDescentOptimizer(0.01)
train = optimizer.minimize(loss)
print(y_pred, loss)
xs = np.array([[1], [2], [3], [4]], np.float32)
ys = np.array([[0], [-1], [-2], [-3]], np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(100):
        _, loss_value = sess.run((train, loss), {x: xs, y_true: ys})
        if i % 25 == 0:
            print(i, loss_value)
    print(sess.run(y_pred, {x: xs}))
    print([(v.name, sess.run(v).ravel()) for v in tf.trainable_variables()])
"""

PROGRAMS["book_logistic_regression_unknown_rank"] = """
rng = np.random.RandomState(3)
pts = rng.randn(40, 2).astype(np.float32)
lab = (pts[:, 0] - 0.5 * pts[:, 1] > 0.2).astype(np.float32)
X = tf.placeholder(tf.float32)
Y = tf.placeholder(tf.float32)
W = tf.Variable(tf.zeros([2, 1]), name="weight")
b = tf.Variable(0.0, name="bias")
logit = tf.squeeze(tf.matmul(X, W), [1]) + b
cost = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=Y, logits=logit))
pred = tf.cast(tf.greater(tf.sigmoid(logit), 0.5), tf.float32)
acc = tf.reduce_mean(tf.cast(tf.equal(pred, Y), tf.float32))
print(logit.shape, cost.shape, pred.shape)
first, rest = tf.split(X, [1, -1], axis=1)
both = tf.concat([tf.tile(first, [1, 2]), rest], 1)
print(first.shape, both.shape)
opt = tf.train.GradientDescentOptimizer(1.0).minimize(cost)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(60):
        for i in range(0, 40, 10):
            sess.run(opt, {X: pts[i:i + 10], Y: lab[i:i + 10]})
        if epoch % 20 == 0:
            print(epoch, sess.run(cost, {X: pts, Y: lab}))
    print(sess.run([acc, W, b], {X: pts, Y: lab}))
    print(sess.run(both, {X: pts[:2]}))
    print(sess.run(tf.gather(X, [3, 0]), {X: pts[:4]}))
"""

PROGRAMS["word2vec_softmax_embeddings"] = """
text = "the quick brown fox jumps over the lazy dog the fox".split()
vocab = sorted(set(text))
idx = {w: i for i, w in enumerate(vocab)}
pairs = [(idx[text[i]], idx[text[j]]) for i in range(len(text))
         for j in (i - 1, i + 1) if 0 <= j < len(text)]
centers = np.array([p[0] for p in pairs], np.int32)
contexts = np.array([p[1] for p in pairs], np.int64)
V, D = len(vocab), 4
rng = np.random.RandomState(7)
train_inputs = tf.placeholder(tf.int32, shape=[None])
train_labels = tf.placeholder(tf.int64, shape=[None])
embeddings = tf.Variable(rng.uniform(-1, 1, (V, D)).astype(np.float32), name="embeddings")
embed = tf.nn.embedding_lookup(embeddings, train_inputs)
softmax_w = tf.Variable(rng.randn(D, V).astype(np.float32) * 0.3, name="softmax_w")
softmax_b = tf.Variable(tf.zeros([V]), name="softmax_b")
logits = tf.matmul(embed, softmax_w) + softmax_b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=train_labels,
                                                                     logits=logits))
print(embed.shape, logits.shape)
opt = tf.train.AdagradOptimizer(0.5).minimize(loss)
norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
normalized = embeddings / norm
valid = tf.constant([idx["fox"], idx["the"]], dtype=tf.int32)
similarity = tf.matmul(tf.nn.embedding_lookup(normalized, valid), normalized, transpose_b=True)
ids = tf.placeholder(tf.int32)
any_rank = tf.nn.embedding_lookup(embeddings, ids)
print(any_rank.shape)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(40):
        _, l = sess.run([opt, loss], {train_inputs: centers, train_labels: contexts})
        if step % 10 == 0:
            print(step, l)
    sim = sess.run(similarity)
    print(np.round(sim, 4))
    print([vocab[k] for k in (-sim[0]).argsort()[1:3]])
    print(sess.run(any_rank, {ids: [[1, 2], [0, 0]]}).shape, sess.run(any_rank, {ids: 3}))
"""

PROGRAMS["char_rnn_dynamic_rnn"] = """
text = "hello world, hello rnn"
chars = sorted(set(text))
c2i = {c: i for i, c in enumerate(chars)}
V, H, T = len(chars), 8, 6
data = np.array([c2i[c] for c in text], np.int32)
xs = np.stack([data[i:i + T] for i in range(0, len(data) - T - 1, 3)])
ys = np.stack([data[i + 1:i + T + 1] for i in range(0, len(data) - T - 1, 3)])
rng = np.random.RandomState(11)
inputs = tf.placeholder(tf.int32, [None, T])
targets = tf.placeholder(tf.int32, [None, T])
one_hot = tf.one_hot(inputs, V)
cell = tf.nn.rnn_cell.GRUCell(H, kernel_initializer=tf.constant_initializer(0.05))
outputs, state = tf.nn.dynamic_rnn(cell, one_hot, dtype=tf.float32)
flat = tf.reshape(outputs, [-1, H])
w = tf.Variable(rng.randn(H, V).astype(np.float32) * 0.3, name="w")
b = tf.Variable(np.zeros(V, np.float32), name="b")
logits = tf.reshape(tf.matmul(flat, w) + b, [-1, T, V])
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets,
                                                                     logits=logits))
train = tf.train.AdamOptimizer(0.05).minimize(loss)
print(one_hot.shape, outputs.shape, state.shape, logits.shape)
print([v.name for v in tf.trainable_variables()])
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(30):
        l, _ = sess.run([loss, train], {inputs: xs, targets: ys})
        if step % 10 == 0:
            print(step, l)
    seed = [c2i[c] for c in "hello "]
    out = sess.run(tf.argmax(logits, 2), {inputs: [seed]})
    print("".join(chars[k] for k in out[0]))
"""

PROGRAMS["autoencoder_layers_dense"] = """
rng = np.random.RandomState(5)
codes = rng.randn(32, 2).astype(np.float32)
data = np.tanh(codes @ rng.randn(2, 6).astype(np.float32))
x = tf.placeholder(tf.float32, [None, 6], name="x")
init = tf.constant_initializer
hidden = tf.layers.dense(x, 4, activation=tf.nn.tanh, name="enc1",
                         kernel_initializer=init(rng.randn(6, 4) * 0.3))
code = tf.layers.dense(hidden, 2, name="code", kernel_initializer=init(rng.randn(4, 2) * 0.3))
hidden_dec = tf.layers.dense(code, 4, activation=tf.nn.tanh, name="dec1",
                             kernel_initializer=init(rng.randn(2, 4) * 0.3))
recon = tf.layers.dense(hidden_dec, 6, name="recon",
                        kernel_initializer=init(rng.randn(4, 6) * 0.3))
loss = tf.reduce_mean(tf.square(recon - x))
train = tf.train.AdamOptimizer(0.02).minimize(loss)
print(code, recon)
print([v.name for v in tf.global_variables()][:4], len(tf.global_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(80):
        for i in range(0, 32, 8):
            sess.run(train, {x: data[i:i + 8]})
        if epoch % 20 == 0:
            print(epoch, sess.run(loss, {x: data}))
    print(sess.run(code, {x: data[:3]}))
    print(sess.run(recon - x, {x: data[:2]}))
"""

PROGRAMS["checkpoint_meta_graph_summaries"] = """
import os, tempfile
d = tempfile.mkdtemp()
x = tf.placeholder(tf.float32, [None, 2], name="x")
y = tf.placeholder(tf.float32, [None], name="y")
step = tf.train.get_or_create_global_step()
w = tf.Variable([[0.1], [-0.2]], name="w")
pred = tf.squeeze(tf.matmul(x, w), [1], name="pred")
loss = tf.reduce_mean(tf.square(pred - y), name="mse")
tf.summary.scalar("mse", loss)
tf.summary.histogram("weights", w)
merged = tf.summary.merge_all()
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
tf.add_to_collection("train_op", train_op)
tf.add_to_collection("inputs", x)
saver = tf.train.Saver(max_to_keep=2)
feed = {x: [[1, 2], [3, 4], [0, 1]], y: [1, 2, 0.5]}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(3):
        sess.run(train_op, feed)
        path = saver.save(sess, os.path.join(d, "model"), global_step=step)
        print(os.path.basename(path))
    print(sess.run([loss, w], feed))
print(sorted(f for f in os.listdir(d) if f.endswith(".meta")))
print(os.path.basename(tf.train.latest_checkpoint(d)))
state = tf.train.get_checkpoint_state(d)
print([os.path.basename(p) for p in state.all_model_checkpoint_paths])
tf.reset_default_graph()
restorer = tf.train.import_meta_graph(tf.train.latest_checkpoint(d) + ".meta")
g = tf.get_default_graph()
print([t.name for t in tf.get_collection("summaries")], tf.get_collection("inputs"))
with tf.Session() as sess:
    restorer.restore(sess, tf.train.latest_checkpoint(d))
    feed2 = {"x:0": [[1, 2], [3, 4], [0, 1]], "y:0": [1, 2, 0.5]}
    print(sess.run(["mse:0", "w:0", "global_step:0"], feed2))
    summ = tf.Summary.FromString(sess.run(g.get_tensor_by_name(merged.name), feed2))
    print([(v.tag, v.HasField("simple_value"), v.HasField("histo")) for v in summ.value])
    print(round(summ.value[0].simple_value, 5), summ.value[1].histo.num)
    sess.run(tf.get_collection("train_op")[0], feed2)
    print(sess.run(["mse:0", "global_step:0"], feed2))
    print(tf.summary.merge_all().name)
"""

PROGRAMS["summary_file_writer_readback"] = """
import glob, os, tempfile
logdir = tempfile.mkdtemp()
a = tf.placeholder(tf.float32, [], name="a")
v = tf.Variable(tf.zeros([5]), name="v")
grow = tf.assign_add(v, tf.fill([5], a))
with tf.name_scope("train"):
    s1 = tf.summary.scalar("a", a)
    s2 = tf.summary.histogram("v", v)
merged = tf.summary.merge([s1, s2])
with tf.Session() as sess:
    writer = tf.summary.FileWriter(logdir, sess.graph)
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        sess.run(grow, {a: step + 0.5})
        writer.add_summary(sess.run(merged, {a: step * 2.0}), global_step=step)
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="manual", simple_value=0.0)]), 7)
    writer.flush()
    writer.close()
files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
print(len(files))
for e in tf.train.summary_iterator(files[0]):
    if e.HasField("summary"):
        print(e.step, [(x.tag, round(x.simple_value, 3) if x.HasField("simple_value") else
                        (x.histo.num, round(x.histo.sum, 3))) for x in e.summary.value])
    else:
        print(e.step, e.WhichOneof("what"))
"""

PROGRAMS["conv_net_padded"] = """
rng = np.random.RandomState(2)
images = rng.rand(4, 6, 6, 1).astype(np.float32)
labels = np.array([0, 1, 1, 0], np.int64)
x = tf.placeholder(tf.float32, [None, 6, 6, 1])
y = tf.placeholder(tf.int64, [None])
padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT")
k = tf.Variable(rng.randn(3, 3, 1, 2).astype(np.float32) * 0.3, name="k")
conv = tf.nn.relu(tf.nn.conv2d(padded, k, strides=[1, 1, 1, 1], padding="VALID"))
pool = tf.nn.max_pool(conv, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
flat = tf.reshape(pool, [-1, 3 * 3 * 2])
w = tf.Variable(rng.randn(18, 2).astype(np.float32) * 0.2, name="w")
logits = tf.matmul(flat, w)
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
print(padded, conv.shape, pool.shape, flat.shape)
print(tf.pad(tf.constant([[1, 2], [3, 4]]), [[1, 0], [0, 2]], constant_values=9))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(tf.pad(tf.constant([[1, 2], [3, 4]]), [[1, 1], [2, 1]], "SYMMETRIC")))
    for step in range(15):
        l, _ = sess.run([loss, train], {x: images, y: labels})
        if step % 5 == 0:
            print(step, l)
    print(sess.run(tf.argmax(logits, 1), {x: images}))
    raises(lambda: tf.pad(x, [[1, 1], [1, 1]]), "Shape must be rank 2 but is rank 4")
    raises(lambda: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "WRAP"), "mode")
"""

PROGRAMS["array_functions_unknown_rank"] = """
t = tf.placeholder(tf.float32)
parts = tf.split(t, 2, axis=1)
ops_ = {
    "gather": tf.gather(t, [2, 0]),
    "gather_last": tf.gather(t, [1], axis=-1),
    "tile": tf.tile(t, [1, 2]),
    "slice": tf.slice(t, [1, 0], [2, -1]),
    "split": parts[1],
    "unstack": tf.unstack(t, num=3)[2],
    "reverse": tf.reverse(t, [-1]),
    "prod_keep": tf.reduce_prod(t, 1, keepdims=True),
    "max_keep": tf.reduce_max(t, [0, 1], keepdims=True),
    "pad": tf.pad(t, [[1, 0], [0, 1]]),
    "one_hot": tf.one_hot(tf.cast(t, tf.int32), 3),
    "stack": tf.stack([t, t], axis=-1),
    "reshape": tf.reshape(t, [-1]),
    "transpose": tf.transpose(t),
}
for k, v in ops_.items():
    print(k, v.shape)
val = np.arange(12, dtype=np.float32).reshape(3, 4) % 5
with tf.Session() as sess:
    for k, v in sess.run(ops_, {t: val}).items():
        print(k, v.tolist())
    g = tf.gradients(tf.reduce_sum(ops_["tile"] * ops_["tile"]) + tf.reduce_sum(ops_["pad"]), t)
    print(sess.run(g, {t: val}))
"""
