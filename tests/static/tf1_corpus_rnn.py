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
