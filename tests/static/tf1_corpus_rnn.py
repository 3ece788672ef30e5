"""TF1 programs (part 9, issue #15): recurrent networks with ``tf.nn.dynamic_rnn`` and the
``tf.nn.rnn_cell`` cells, trained a few steps on padded sequences with ``sequence_length``.
Written for this project in the style of the classic examples, on small seeded arrays. See
tf1_oracle.py for how they run."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["lstm_classifier_sequence_length"] = """
rng = np.random.RandomState(0)
batch, steps, depth, units = 4, 5, 3, 6
X_data = rng.randn(batch, steps, depth).astype(np.float32)
lengths = np.array([5, 3, 1, 4], np.int32)
y_data = np.array([0, 1, 1, 0], np.int64)
x = tf.placeholder(tf.float32, [None, steps, depth], name="x")
seq_len = tf.placeholder(tf.int32, [None], name="seq_len")
y = tf.placeholder(tf.int64, [None], name="y")
cell = tf.nn.rnn_cell.BasicLSTMCell(units)
outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=seq_len, dtype=tf.float32)
print(outputs.shape, state.h.shape, state.c.shape, type(state).__name__)
w = tf.Variable(rng.randn(units, 2).astype(np.float32) * 0.5, name="w_out")
b = tf.Variable(np.zeros(2, np.float32), name="b_out")
logits = tf.matmul(state.h, w) + b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train = tf.train.AdamOptimizer(0.05).minimize(loss)
print([(v.name, v.shape.as_list()) for v in tf.trainable_variables()])
feed = {x: X_data, seq_len: lengths, y: y_data}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    kernel, bias = tf.trainable_variables()[:2]
    kernel.load(rng.randn(depth + units, 4 * units).astype(np.float32) * 0.3, sess)
    bias.load(rng.randn(4 * units).astype(np.float32) * 0.1, sess)
    for step in range(6):
        l, _ = sess.run([loss, train], feed)
        print("step", step, "loss", l)
    out, h = sess.run([outputs, state.h], feed)
    print("zero past the length:", np.abs(out[2, 1:]).max(), np.abs(out[1, 3:]).max())
    print("last output is h:", np.abs(out[1, 2] - h[1]).max() < 1e-6)
    print("predictions", sess.run(tf.argmax(logits, 1), feed))
    print(np.round(h, 4))
"""

PROGRAMS["gru_stack_and_static_rnn"] = """
rng = np.random.RandomState(1)
x = tf.placeholder(tf.float32, [2, 3, 2], name="x")
with tf.variable_scope("encoder", initializer=tf.constant_initializer(0.2)):
    cells = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(3),
                                         tf.nn.rnn_cell.BasicRNNCell(2)])
    outputs, states = tf.nn.dynamic_rnn(cells, x, dtype=tf.float32)
with tf.variable_scope("unrolled", initializer=tf.constant_initializer(-0.1)):
    outs, last = tf.nn.static_rnn(tf.nn.rnn_cell.BasicRNNCell(2), tf.unstack(x, axis=1),
                                  sequence_length=[3, 2], dtype=tf.float32)
print([v.name for v in tf.trainable_variables()])
print(len(outs), outs[0].shape, len(states), states[0].shape)
grads = tf.gradients(tf.reduce_sum(outputs) + tf.reduce_sum(last), [x])
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    r = sess.run([outputs, states, outs, last, grads], {x: rng.randn(2, 3, 2)})
    for a in [r[0], r[1][0], r[1][1], np.stack(r[2]), r[3], r[4][0]]:
        print(np.round(a, 5))
"""

# ------------------------------------------------------------------ issue #15, part 2
PROGRAMS["lstm_text_classification_dropout_wrapper"] = """
rng = np.random.RandomState(3)
vocab, emb_dim, units, steps = 12, 4, 5, 6
docs = rng.randint(1, vocab, size=(6, steps))
lengths = np.array([6, 4, 2, 5, 3, 6], np.int32)
for i, n in enumerate(lengths):
    docs[i, n:] = 0                                          # padding id
labels = np.array([1, 0, 1, 0, 0, 1], np.int64)
x = tf.placeholder(tf.int32, [None, steps], name="words")
seq_len = tf.placeholder(tf.int32, [None], name="seq_len")
y = tf.placeholder(tf.int64, [None], name="labels")
keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
embeddings = tf.Variable(tf.zeros([vocab, emb_dim]), name="embeddings")
inputs = tf.nn.embedding_lookup(embeddings, x)
cell = tf.nn.rnn_cell.LSTMCell(units, use_peepholes=True, cell_clip=3.0, num_proj=3)
cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep_prob)
init_state = cell.zero_state(tf.shape(x)[0], tf.float32)
print(init_state.c.shape, init_state.h.shape)
outputs, state = tf.nn.dynamic_rnn(cell, inputs, sequence_length=seq_len,
                                   initial_state=init_state)
print(outputs, state.h)
logits = tf.layers.dense(state.h, 2, name="out")
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
train_op = tf.train.AdamOptimizer(0.05).minimize(loss)
for v in tf.trainable_variables():
    print(v.name, v.shape)
feed = {x: docs, seq_len: lengths, y: labels}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for v in tf.trainable_variables():
        v.load((rng.randn(*v.shape.as_list()) * 0.4).astype(np.float32), sess)
    for epoch in range(8):
        _, l, acc = sess.run([train_op, loss, accuracy], feed)
        if epoch % 2 == 0:
            print("epoch", epoch, "loss", round(float(l), 5), "acc", acc)
    out, h = sess.run([outputs, state.h], feed)
    print("past the length:", np.abs(out[2, 2:]).max(), "last output is h:",
          np.allclose(out[3, 4], h[3]))
    print(np.round(sess.run(tf.nn.softmax(logits), feed), 4))
"""

PROGRAMS["bidirectional_rnn_sequence_tagger"] = """
rng = np.random.RandomState(4)
batch, steps, depth, tags = 3, 5, 3, 4
X = rng.randn(batch, steps, depth).astype(np.float32)
lengths = np.array([5, 3, 4], np.int32)
Y = rng.randint(0, tags, size=(batch, steps))
mask_np = (np.arange(steps)[None, :] < lengths[:, None]).astype(np.float32)
x = tf.placeholder(tf.float32, [None, steps, depth], name="x")
seq_len = tf.placeholder(tf.int32, [None], name="seq_len")
y = tf.placeholder(tf.int32, [None, steps], name="y")
mask = tf.placeholder(tf.float32, [None, steps], name="mask")
cell_fw = tf.nn.rnn_cell.LSTMCell(4, use_peepholes=True)
cell_bw = tf.nn.rnn_cell.GRUCell(3)
(out_fw, out_bw), (state_fw, state_bw) = tf.nn.bidirectional_dynamic_rnn(
    cell_fw, cell_bw, x, sequence_length=seq_len, dtype=tf.float32)
print(out_fw, out_bw)
print(state_fw.c.shape, state_bw.shape)
rev = tf.reverse_sequence(x, seq_len, seq_axis=1, batch_axis=0)
print(rev)
both = tf.concat([out_fw, out_bw], axis=2)
w = tf.get_variable("tag_w", [7, tags])
b = tf.get_variable("tag_b", [tags], initializer=tf.zeros_initializer())
logits = tf.reshape(tf.matmul(tf.reshape(both, [-1, 7]), w) + b, [-1, steps, tags])
xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
loss = tf.reduce_sum(xent * mask) / tf.reduce_sum(mask)
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
print([v.name for v in tf.trainable_variables()])
feed = {x: X, seq_len: lengths, y: Y, mask: mask_np}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for v in tf.trainable_variables():
        v.load((rng.randn(*v.shape.as_list()) * 0.5).astype(np.float32), sess)
    print(sess.run(rev, feed)[1, :, 0], X[1, :, 0])
    for step in range(5):
        l, _ = sess.run([loss, train], feed)
        print("step", step, "loss", l)
    fw, bw = sess.run([out_fw, out_bw], feed)
    print(np.round(fw[1], 4))
    print(np.round(bw[1], 4))
    print(sess.run(tf.argmax(logits, 2), feed) * mask_np.astype(np.int64))
"""

PROGRAMS["tensorboard_logging_training_loop"] = """
import os, glob, tempfile
logdir = tempfile.mkdtemp()
rng = np.random.RandomState(5)
X_data = rng.randn(20, 3).astype(np.float32)
y_data = X_data @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3
x = tf.placeholder(tf.float32, [None, 3], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
with tf.name_scope("model"):
    W = tf.Variable(tf.zeros([3, 1]), name="W")
    b = tf.Variable(0.0, name="b")
    pred = tf.matmul(x, W) + b
with tf.name_scope("loss"):
    loss = tf.reduce_mean(tf.square(pred - y))
loss_summary = tf.summary.scalar("mse", loss)
w_hist = tf.summary.histogram("weights", W)
b_summary = tf.summary.scalar("bias", b, family="params")
merged = tf.summary.merge_all()
print(loss_summary, w_hist, b_summary, merged)
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    writer = tf.summary.FileWriter(logdir, sess.graph)
    sess.run(tf.global_variables_initializer())
    for step in range(6):
        # the summaries in their own run: TF reads W in a run with `train` in either order
        summary, l = sess.run([merged, loss], {x: X_data, y: y_data})
        sess.run(train, {x: X_data, y: y_data})
        writer.add_summary(summary, step)
        print(step, l, type(summary).__name__, len(summary))
    acc = tf.Summary(value=[tf.Summary.Value(tag="final_loss", simple_value=float(l))])
    writer.add_summary(acc, 6)
    writer.close()
    print(sorted(os.listdir(logdir))[0].startswith("events.out.tfevents."))
    parsed = tf.Summary.FromString(sess.run(loss_summary, {x: X_data, y: y_data}))
    print(parsed.value[0].tag, parsed.value[0].simple_value)
path = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))[0]
for event in tf.train.summary_iterator(path):
    if event.HasField("summary"):
        for value in event.summary.value:
            if value.HasField("histo"):
                print(event.step, value.tag, value.histo.num, value.histo.min, value.histo.max,
                      len(value.histo.bucket))
            else:
                print(event.step, value.tag, value.simple_value)
    elif event.file_version:
        print("version", event.file_version)
"""
