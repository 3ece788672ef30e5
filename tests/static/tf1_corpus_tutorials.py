"""TF1 programs (part 4: whole tutorial-style scripts: minibatch MNIST-style training, MLPs with
RMSProp/Adagrad, regularization through collections, learning-rate decay, checkpoints,
embeddings). See tf1_oracle.py for how they are run and compared."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["basic_operations"] = """
a = tf.constant(2)
b = tf.constant(3)
with tf.Session() as sess:
    print("a=2, b=3")
    print("Addition with constants: %i" % sess.run(a + b))
    print("Multiplication with constants: %i" % sess.run(a * b))
# TF's tutorial leaves the shape out; staticgraph needs a known rank (docs/static.md)
a = tf.placeholder(tf.int16, shape=[])
b = tf.placeholder(tf.int16, shape=[])
add = tf.add(a, b)
mul = tf.multiply(a, b)
with tf.Session() as sess:
    print("Addition with variables: %i" % sess.run(add, feed_dict={a: 2, b: 3}))
    print("Multiplication with variables: %i" % sess.run(mul, feed_dict={a: 2, b: 3}))
    print(repr(sess.run(add, {a: 2, b: 3})))
matrix1 = tf.constant([[3., 3.]])
matrix2 = tf.constant([[2.], [2.]])
product = tf.matmul(matrix1, matrix2)
with tf.Session() as sess:
    result = sess.run(product)
    print(result, result.dtype, result.shape)
"""

PROGRAMS["mnist_style_softmax_minibatch"] = """
rng = np.random.RandomState(1)
centers = rng.randn(4, 16).astype(np.float32) * 2
labels_all = rng.randint(0, 4, size=48)
images = (centers[labels_all] + rng.randn(48, 16)).astype(np.float32)
onehot = np.eye(4, dtype=np.float32)[labels_all]
train_x, train_y, test_x, test_y = images[:32], onehot[:32], images[32:], onehot[32:]
x = tf.placeholder(tf.float32, [None, 16])
W = tf.Variable(tf.zeros([16, 4]))
b = tf.Variable(tf.zeros([4]))
y = tf.nn.softmax(tf.matmul(x, W) + b)
y_ = tf.placeholder(tf.float32, [None, 4])
cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
train_step = tf.train.GradientDescentOptimizer(0.05).minimize(cross_entropy)
correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
for epoch in range(3):
    for i in range(0, 32, 8):
        batch_xs, batch_ys = train_x[i:i + 8], train_y[i:i + 8]
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
    print(epoch, sess.run(cross_entropy, feed_dict={x: train_x, y_: train_y}))
print(sess.run(accuracy, feed_dict={x: test_x, y_: test_y}))
print(accuracy.eval(feed_dict={x: train_x, y_: train_y}), b.eval())
sess.close()
"""

PROGRAMS["mlp_rmsprop"] = """
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y = np.array([[0], [1], [1], [0]], np.float32)
x = tf.placeholder(tf.float32, [None, 2], name="x-input")
y = tf.placeholder(tf.float32, [None, 1], name="y-input")
W1 = tf.Variable([[0.5, -0.4, 0.3], [0.2, 0.6, -0.5]], name="W1")
b1 = tf.Variable([0.1, -0.1, 0.05], name="b1")
W2 = tf.Variable([[0.7], [-0.6], [0.4]], name="W2")
b2 = tf.Variable([0.0], name="b2")
with tf.name_scope("layer2"):
    hidden = tf.sigmoid(tf.matmul(x, W1) + b1)
with tf.name_scope("layer3"):
    out = tf.sigmoid(tf.matmul(hidden, W2) + b2)
with tf.name_scope("cost"):
    cost = -tf.reduce_mean(y * tf.log(out) + (1 - y) * tf.log(1.0 - out))
with tf.name_scope("train"):
    train_step = tf.train.RMSPropOptimizer(0.05).minimize(cost)
print(hidden.name, out.name, cost.name, train_step.name)
print(sorted(v.name for v in tf.global_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(30):
        _, c = sess.run([train_step, cost], feed_dict={x: X, y: Y})
        if i % 10 == 0:
            print("cost", c)
    print(sess.run([out, W2], {x: X}))
"""

PROGRAMS["adagrad_polynomial_regression"] = """
xs = np.linspace(-1.0, 1.0, 10).astype(np.float32)
ys = (0.5 * xs ** 3 - xs + 0.3).astype(np.float32)
X = tf.placeholder(tf.float32, [None])
Y = tf.placeholder(tf.float32, [None])
Y_pred = tf.Variable(0.0, name="bias")
for pow_i in range(1, 4):
    W = tf.Variable(0.1 * pow_i, name="weight_%d" % pow_i)
    Y_pred = tf.add(tf.multiply(tf.pow(X, pow_i), W), Y_pred)
cost = tf.reduce_sum(tf.pow(Y_pred - Y, 2)) / (10 - 1)
optimizer = tf.train.AdagradOptimizer(0.5).minimize(cost)
print(Y_pred, cost)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(25):
        sess.run(optimizer, feed_dict={X: xs, Y: ys})
    print(sess.run(cost, feed_dict={X: xs, Y: ys}))
    print(sess.run([v for v in tf.trainable_variables()]))
    print(sorted(v.name for v in tf.global_variables() if "Adagrad" in v.name))
"""

PROGRAMS["l2_regularization_collection"] = """
x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 1])
W = tf.Variable([[0.2], [-0.1], [0.4]], name="W")
b = tf.Variable([0.1], name="b")
pred = tf.matmul(x, W) + b
mse = tf.reduce_mean(tf.square(y - pred))
tf.add_to_collection("losses", mse)
tf.add_to_collection("losses", 0.01 * tf.nn.l2_loss(W))
total = tf.add_n(tf.get_collection("losses"), name="total_loss")
print(len(tf.get_collection("losses")), total)
print([v.name for v in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)])
train = tf.train.GradientDescentOptimizer(0.1).minimize(total)
X = np.array([[1, 2, 3], [0, 1, 0], [2, -1, 1]], np.float32)
Yv = np.array([[1], [0], [2]], np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([mse, total], {x: X, y: Yv}))
    for _ in range(10):
        sess.run(train, {x: X, y: Yv})
    print(sess.run([total, W, b], {x: X, y: Yv}))
"""

PROGRAMS["exponential_decay_global_step"] = """
global_step = tf.Variable(0, trainable=False)
starter_learning_rate = 0.1
learning_rate = tf.train.exponential_decay(starter_learning_rate, global_step, 2, 0.5,
                                           staircase=True)
smooth = tf.train.exponential_decay(0.1, global_step, 4, 0.5)
w = tf.Variable(5.0)
loss = tf.square(w)
step = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss, global_step=global_step)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(5):
        lr, sm, gs = sess.run([learning_rate, smooth, global_step])
        sess.run(step)
        print(gs, lr, sm, sess.run(w))
"""

PROGRAMS["saver_roundtrip"] = """
import os, tempfile
v1 = tf.Variable([1.0, 2.0], name="v1")
v2 = tf.Variable(3, name="v2")
inc = tf.assign_add(v2, 1)
saver = tf.train.Saver()
d = tempfile.mkdtemp()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(inc)
    path = saver.save(sess, os.path.join(d, "model.ckpt"))
    print(os.path.basename(path))
    sess.run(tf.assign(v1, [9.0, 9.0]))
    print(sess.run([v1, v2]))
    saver.restore(sess, path)
    print(sess.run([v1, v2]))
    p2 = saver.save(sess, os.path.join(d, "model.ckpt"), global_step=7)
    print(os.path.basename(p2), os.path.basename(tf.train.latest_checkpoint(d)))
with tf.Session() as sess:
    tf.train.Saver([v1]).restore(sess, path)
    print(sess.run(v1))
    raises(lambda: sess.run(v2), "uninitialized")
"""

PROGRAMS["embedding_lookup_training"] = """
emb = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, name="emb")
ids = tf.placeholder(tf.int32, [None], name="ids")
vecs = tf.nn.embedding_lookup(emb, ids)
avg = tf.reduce_mean(vecs, axis=0)
loss = tf.reduce_sum(tf.square(avg - 1.0))
g = tf.gradients(loss, emb)[0]
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
print(vecs.shape, avg.shape)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    dense_g = tf.convert_to_tensor(g)  # TF: IndexedSlices -> dense
    print(sess.run([vecs, avg, dense_g], {ids: [1, 3, 1]}))
    sess.run(train, {ids: [0, 2]})
    print(sess.run([emb, tf.gather(emb, [3, 0])]))
"""

PROGRAMS["separate_graphs_and_sessions"] = """
g1 = tf.Graph()
with g1.as_default():
    a = tf.Variable(1.0, name="a")
    step = tf.assign_add(a, 1.0)
    init1 = tf.global_variables_initializer()
g2 = tf.Graph()
with g2.as_default():
    a2 = tf.Variable(10.0, name="a")
    init2 = tf.global_variables_initializer()
print(a.name, a2.name, a.graph is g1, a2.graph is g2)
s1 = tf.Session(graph=g1)
s1b = tf.Session(graph=g1)
s2 = tf.Session(graph=g2)
s1.run(init1)
s1b.run(init1)
s2.run(init2)
s1.run(step)
s1.run(step)
print(s1.run(a), s1b.run(a), s2.run(a2))
with s1.as_default():
    print(a.eval(), step.eval())
for s in (s1, s1b, s2):
    s.close()
tf.reset_default_graph()
print(len(tf.get_default_graph().get_operations()))
"""

PROGRAMS["nn_helpers"] = """
x = tf.constant([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]])
labels = tf.constant([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
mean, var = tf.nn.moments(x, axes=[0])
l2 = tf.nn.l2_loss(x)
ba = tf.nn.bias_add(x, [1.0, 2.0, 3.0])
xent1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=x)
xent2 = tf.losses.softmax_cross_entropy(onehot_labels=labels, logits=x)
xent3 = tf.losses.sparse_softmax_cross_entropy(labels=[2, 0], logits=x)
sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x)
lsm = tf.nn.log_softmax(x)
sm = tf.nn.softmax(x, axis=0)
nrm = tf.norm(x)
cbn = tf.clip_by_norm(x, 2.0)
oh = tf.one_hot([0, 2, 1], 3)
oh2 = tf.one_hot([1, 0], 2, on_value=5, off_value=-1)
for t in (mean, var, l2, ba, xent2, xent3, sig, lsm, nrm, cbn, oh, oh2):
    print(t)
with tf.Session() as sess:
    for v in sess.run([mean, var, l2, ba, xent1, xent2, xent3, sig, lsm, sm, nrm, cbn, oh, oh2]):
        print(repr(v))
"""

PROGRAMS["gradients_multi_ys"] = """
x = tf.Variable([1.0, 2.0], name="x")
y1 = tf.reduce_sum(x * x)
y2 = tf.reduce_prod(x)
g = tf.gradients([y1, y2], x)
gw = tf.gradients([y1, y2], x, grad_ys=[tf.constant(2.0), tf.constant(-1.0)])
z = tf.stack([y1, y2])
gz = tf.gradients(z, [x], grad_ys=[tf.constant([1.0, 3.0])])
h = tf.hessians(y1 + y2, x)
print(len(g), len(gw), h[0].shape)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([g, gw, gz, h]))
"""

PROGRAMS["placeholder_default_and_split"] = """
x = tf.placeholder_with_default([[1.0, 2.0, 3.0, 4.0]], shape=[None, 4])
parts = tf.split(x, 2, axis=1)
a, b2 = tf.split(x, [1, -1], 1)
y = parts[0] * parts[1]
print(x.shape, [p.shape for p in parts], a.shape, b2.shape)
with tf.Session() as sess:
    print(sess.run(y))
    print(sess.run([y, b2], {x: [[1.0, 1.0, 2.0, 2.0], [0.0, 1.0, 2.0, 3.0]]}))
    raises(lambda: sess.run(y, {x: [[1.0, 2.0]]}), "Cannot feed value of shape")
"""

PROGRAMS["reshape_matmul_reshape"] = """
images = tf.placeholder(tf.float32, [None, 4], name="images")
flat = tf.reshape(images, [-1, 4])  # a defensive no-op reshape, common in tutorials
W = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, name="W")
logits = tf.reshape(tf.matmul(flat, W), [-1, 3])
print(flat.shape, logits.shape)
with tf.Session() as sess:
    sess.run(W.initializer)
    print(sess.run(logits, {images: np.arange(8, dtype=np.float32).reshape(2, 4)}))
"""

PROGRAMS["getting_started_unknown_rank"] = """
node1 = tf.constant(3.0, dtype=tf.float32)
node2 = tf.constant(4.0)
print(node1, node2)
sess = tf.Session()
print(sess.run([node1, node2]))
node3 = tf.add(node1, node2)
print("node3:", node3)
print("sess.run(node3):", sess.run(node3))
a = tf.placeholder(tf.float32)
b = tf.placeholder(tf.float32)
adder_node = a + b
print(a, a.shape, a.get_shape().ndims, adder_node)
print(sess.run(adder_node, {a: 3, b: 4.5}))
print(sess.run(adder_node, {a: [1, 3], b: [2, 4]}))
add_and_triple = adder_node * 3.
print(sess.run(add_and_triple, {a: 3, b: 4.5}))
raises(lambda: sess.run(adder_node, {a: 3}), "must feed a value for placeholder tensor",
       "with dtype float")
W = tf.Variable([.3], dtype=tf.float32)
b = tf.Variable([-.3], dtype=tf.float32)
x = tf.placeholder(tf.float32)
linear_model = W * x + b
init = tf.global_variables_initializer()
sess.run(init)
print(sess.run(linear_model, {x: [1, 2, 3, 4]}))
y = tf.placeholder(tf.float32)
squared_deltas = tf.square(linear_model - y)
loss = tf.reduce_sum(squared_deltas)
print(sess.run(loss, {x: [1, 2, 3, 4], y: [0, -1, -2, -3]}))
fixW = tf.assign(W, [-1.])
fixb = tf.assign(b, [1.])
sess.run([fixW, fixb])
print(sess.run(loss, {x: [1, 2, 3, 4], y: [0, -1, -2, -3]}))
optimizer = tf.train.GradientDescentOptimizer(0.01)
train = optimizer.minimize(loss)
sess.run(init)
for i in range(300):
    sess.run(train, {x: [1, 2, 3, 4], y: [0, -1, -2, -3]})
curr_W, curr_b, curr_loss = sess.run([W, b, loss], {x: [1, 2, 3, 4], y: [0, -1, -2, -3]})
print("W: %s b: %s loss: %s" % (curr_W, curr_b, curr_loss))
print(sess.run(tf.reduce_mean(x * 2.0), {x: [[1.0, 2.0], [3.0, 4.0]]}))
sess.close()
"""
