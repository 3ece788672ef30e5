"""TF1 programs (part 8, issue #15: what real programs use): checkpoints with global steps and
meta graphs, the book's MNIST-style classifier with a shapeless label placeholder, the normal
equation, embedding lookups, old aliases and string constants. Written for this project in the
style of the classic examples, on small seeded arrays. See tf1_oracle.py for how they run."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["linear_regression_checkpoints"] = """
import os, tempfile
rng = np.random.RandomState(0)
train_X = rng.rand(20).astype(np.float32) * 10
train_Y = (0.3 * train_X + 2.0 + rng.randn(20).astype(np.float32) * 0.1).astype(np.float32)
X = tf.placeholder(tf.float32, name="X")
Y = tf.placeholder(tf.float32, name="Y")
W = tf.Variable(0.5, name="weight")
b = tf.Variable(0.1, name="bias")
pred = tf.add(tf.multiply(X, W), b)
cost = tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * 20)
global_step = tf.Variable(0, name="global_step", trainable=False)
optimizer = tf.train.GradientDescentOptimizer(0.01).minimize(cost, global_step=global_step)
saver = tf.train.Saver(max_to_keep=2, keep_checkpoint_every_n_hours=1)
ckpt_dir = tempfile.mkdtemp()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(6):
        for (x, y) in zip(train_X, train_Y):
            sess.run(optimizer, feed_dict={X: x, Y: y})
        if (epoch + 1) % 2 == 0:
            c = sess.run(cost, feed_dict={X: train_X, Y: train_Y})
            path = saver.save(sess, os.path.join(ckpt_dir, "model.ckpt"), global_step=global_step)
            print("Epoch:", epoch + 1, "cost=", c, "W=", sess.run(W), "b=", sess.run(b),
                  os.path.basename(path))
print(sorted(os.listdir(ckpt_dir)))
ckpt = tf.train.get_checkpoint_state(ckpt_dir)
print(os.path.basename(ckpt.model_checkpoint_path),
      [os.path.basename(p) for p in ckpt.all_model_checkpoint_paths])
print(tf.train.get_checkpoint_state(os.path.join(ckpt_dir, "nothing_here")))
with tf.Session() as sess:
    if ckpt and ckpt.model_checkpoint_path:
        saver.restore(sess, ckpt.model_checkpoint_path)
    print("restored:", sess.run([W, b, global_step]))
    saver.restore(sess, os.path.join(ckpt_dir, "model.ckpt-80"))
    print("older:", sess.run([W, b, global_step]))
    raises(lambda: saver.restore(sess, os.path.join(ckpt_dir, "model.ckpt-40")),
           "not a valid checkpoint")
"""

PROGRAMS["meta_graph_round_trip"] = """
import os, tempfile
d = tempfile.mkdtemp()
x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
w = tf.Variable([[1.0], [2.0]], name="w")
b = tf.Variable([0.5], name="b")
y = tf.add(tf.matmul(x, w), b, name="y")
loss = tf.reduce_mean(tf.square(y - 1.0), name="loss")
train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
tf.add_to_collection("train_op", train_op)
tf.add_to_collection("prediction", y)
saver = tf.train.Saver()
feed = {x: [[1.0, 0.0], [0.0, 1.0]]}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(train_op, feed)
    print(sess.run(y, feed))
    saver.save(sess, os.path.join(d, "my-model"))
print(sorted(os.listdir(d)))
tf.reset_default_graph()
print(len(tf.get_default_graph().get_operations()))
new_saver = tf.train.import_meta_graph(os.path.join(d, "my-model.meta"))
graph = tf.get_default_graph()
x2 = graph.get_tensor_by_name("x:0")
y2 = graph.get_tensor_by_name("y:0")
print(x2, y2, tf.get_collection("prediction")[0] is y2)
print([v.name for v in tf.global_variables()], [v.name for v in tf.trainable_variables()])
with tf.Session() as sess:
    new_saver.restore(sess, tf.train.latest_checkpoint(d))
    print(sess.run(y2, feed_dict={x2: [[1.0, 0.0], [0.0, 1.0]]}))
    print(sess.run("w:0").ravel(), sess.run("loss:0", {"x:0": [[1.0, 1.0]]}))
    train = tf.get_collection("train_op")[0]
    sess.run(train, {x2: [[1.0, 0.0], [0.0, 1.0]]})
    print(sess.run(y2, {x2: [[1.0, 0.0], [0.0, 1.0]]}))
raises(lambda: tf.train.import_meta_graph(os.path.join(d, "missing.meta")), "does not exist")
"""

PROGRAMS["mnist_softmax_shapeless_labels"] = """
rng = np.random.RandomState(1)
n_inputs, n_hidden, n_outputs = 12, 8, 3
X_train = rng.rand(60, n_inputs).astype(np.float32)
y_train = (X_train[:, :3].argmax(axis=1)).astype(np.int64)
X = tf.placeholder(tf.float32, shape=(None, n_inputs), name="X")
y = tf.placeholder(tf.int64, shape=(None), name="y")
print(X, y)
def neuron_layer(X, n_neurons, name, activation=None):
    with tf.name_scope(name):
        n_inputs = int(X.get_shape()[1])
        init = np.linspace(-0.5, 0.5, n_inputs * n_neurons).reshape(n_inputs, n_neurons)
        W = tf.Variable(init.astype(np.float32), name="kernel")
        b = tf.Variable(tf.zeros([n_neurons]), name="bias")
        Z = tf.matmul(X, W) + b
        return activation(Z) if activation is not None else Z
with tf.name_scope("dnn"):
    hidden1 = neuron_layer(X, n_hidden, name="hidden1", activation=tf.nn.relu)
    logits = neuron_layer(hidden1, n_outputs, name="outputs")
with tf.name_scope("loss"):
    xentropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    loss = tf.reduce_mean(xentropy, name="loss")
print(xentropy.shape, loss)
with tf.name_scope("train"):
    training_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
with tf.name_scope("eval"):
    correct = tf.nn.in_top_k(logits, y, 1)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
init = tf.global_variables_initializer()
with tf.Session() as sess:
    init.run()
    for epoch in range(5):
        for i in range(0, 60, 20):
            sess.run(training_op, feed_dict={X: X_train[i:i + 20], y: y_train[i:i + 20]})
        acc, l = sess.run([accuracy, loss], feed_dict={X: X_train, y: y_train})
        print(epoch, "Train accuracy:", acc, "loss:", l)
    Z = logits.eval(feed_dict={X: X_train[:5]})
    print(np.argmax(Z, axis=1), tf.arg_max(Z, 1).eval(), y_train[:5])
"""

PROGRAMS["normal_equation_housing"] = """
rng = np.random.RandomState(42)
m, n = 50, 8
scales = np.array([1, 10, 100, 1000, 1, 10, 100, 1000], np.float64)
housing = rng.rand(m, n) * scales
target = (housing / scales) @ np.linspace(0.5, -0.5, n) + 3.0
housing_plus_bias = np.c_[np.ones((m, 1)), housing]
X = tf.constant(housing_plus_bias, dtype=tf.float32, name="X")
y = tf.constant(target.reshape(-1, 1), dtype=tf.float32, name="y")
XT = tf.transpose(X)
theta = tf.matmul(tf.matmul(tf.matrix_inverse(tf.matmul(XT, X)), XT), y)
print(theta)
with tf.Session() as sess:
    theta_value = theta.eval()
    inv = tf.matrix_inverse(tf.matmul(XT, X)).eval()
print(np.round(theta_value.ravel(), 3))
exact = np.linalg.inv(housing_plus_bias.T @ housing_plus_bias)
print("relative error below 1e-5:", bool(np.abs(inv - exact).max() / np.abs(exact).max() < 1e-5))
A = tf.constant([[4.0, 7.0], [2.0, 6.0]])
with tf.Session() as sess:
    print(sess.run(tf.matrix_inverse(A)), sess.run(tf.linalg.inv(A, adjoint=True)))
    print(sess.run(tf.gradients(tf.reduce_sum(tf.matrix_inverse(A)), A)[0]))
    raises(lambda: sess.run(tf.matrix_inverse(tf.zeros([2, 2]))), "Input is not invertible.")
raises(lambda: tf.matrix_inverse(tf.ones([2, 3])), "Dimensions must be equal, but are 2 and 3")
raises(lambda: tf.matrix_inverse(tf.ones([3])), "Shape must be at least rank 2 but is rank 1")
"""

PROGRAMS["embedding_lookup_word_vectors"] = """
vocabulary_size, embedding_size, batch = 10, 4, 6
init = np.linspace(-1.0, 1.0, vocabulary_size * embedding_size).reshape(
    vocabulary_size, embedding_size).astype(np.float32)
embeddings = tf.Variable(init, name="embeddings")
train_inputs = tf.placeholder(tf.int32, shape=[batch], name="inputs")
train_labels = tf.placeholder(tf.int32, shape=[batch], name="labels")
embed = tf.nn.embedding_lookup(embeddings, train_inputs)
print(embed)
softmax_w = tf.Variable(np.full((embedding_size, vocabulary_size), 0.1, np.float32), name="w")
softmax_b = tf.Variable(tf.zeros([vocabulary_size]), name="b")
logits = tf.matmul(embed, softmax_w) + softmax_b
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
    labels=train_labels, logits=logits))
optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
normalized_embeddings = embeddings / norm
valid = tf.constant([1, 3], dtype=tf.int32)
valid_embeddings = tf.nn.embedding_lookup(normalized_embeddings, valid)
similarity = tf.matmul(valid_embeddings, normalized_embeddings, transpose_b=True)
inputs = np.array([1, 2, 3, 1, 2, 3], np.int32)
labels = np.array([2, 3, 4, 2, 3, 4], np.int32)
with tf.Session() as sess:
    tf.global_variables_initializer().run()
    print(sess.run(embed, {train_inputs: inputs})[:2])
    for step in range(5):
        _, l = sess.run([optimizer, loss], {train_inputs: inputs, train_labels: labels})
        print(step, l)
    sim = similarity.eval()
    print(np.round(sim, 4))
    print((-sim[0, :]).argsort()[1:4])
    g = tf.gradients(tf.reduce_sum(embed), embeddings)[0]
    print(tf.convert_to_tensor(g).eval({train_inputs: inputs})[:4])
"""

PROGRAMS["old_aliases_and_strings"] = """
x = tf.constant([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
a_max = tf.arg_max(x, 1)
a_min = tf.arg_min(x, 0, output_type=tf.int32)
print(a_max, a_min)
raises(lambda: tf.arg_max(x), "dimension")
print(tf.log_sigmoid(x), tf.floor_div(x, 2.0).dtype)
words = np.array(["hello", "world"])
s = tf.constant(words)
grid = tf.constant(np.array([["a", "b"], ["c", "d"]]))
print(s, grid)
v = tf.Variable(1.0, name="v")
print([u.name for u in tf.all_variables()])
init = tf.initialize_variables([v])
with tf.Session() as sess:
    sess.run(init)
    print(sess.run([a_max, a_min]))
    print(sess.run(tf.log_sigmoid(x)))
    print(sess.run(tf.lin_space(0.0, 1.0, 5)))
    print(sess.run(s), sess.run(grid)[1])
    print([w.decode() for w in sess.run(s)])
    sess.run(tf.initialize_local_variables())
"""

PROGRAMS["unsupported_api_errors"] = """
def attr(path):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj
for path in ["no_such_function", "nn.no_such_function", "train.NoSuchOptimizer"]:
    try:
        attr(path)
    except AttributeError as e:
        print("AttributeError", path.split(".")[-1] in str(e))
print(hasattr(tf, "no_such_function"), getattr(tf.nn, "nothing", "default"))
print(callable(tf.nn.embedding_lookup), callable(tf.train.import_meta_graph),
      callable(tf.train.get_checkpoint_state), callable(tf.train.latest_checkpoint))
"""
