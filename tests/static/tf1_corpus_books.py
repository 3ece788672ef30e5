"""TF1 programs (part 6: script boilerplate, TensorBoard-instrumented training, and programs in
the style of TF1 books: graphs and sessions, shared variables, manual gradient descent). See
tf1_oracle.py for how they are run and compared."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["script_boilerplate"] = """
tf.logging.set_verbosity(tf.logging.ERROR)
config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=False)
config.gpu_options.allow_growth = True
with tf.device("/cpu:0"):
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([3.0, 4.0], name="b")
    c = a * b
with tf.Session(config=config) as sess:
    print(sess.run(c))
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    run_metadata = tf.RunMetadata()
    print(sess.run(c, options=options, run_metadata=run_metadata))
"""

PROGRAMS["tensorboard_instrumented"] = """
import tempfile
x = tf.placeholder(tf.float32, [None, 1], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
with tf.name_scope("model"):
    W = tf.Variable([[0.5]], name="W")
    pred = tf.matmul(x, W)
with tf.name_scope("loss"):
    loss = tf.reduce_mean(tf.square(pred - y))
tf.summary.scalar("loss", loss)
tf.summary.histogram("weights", W)
merged = tf.summary.merge_all()
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
logdir = tempfile.mkdtemp()
with tf.Session() as sess:
    writer = tf.summary.FileWriter(logdir, sess.graph)
    sess.run(tf.global_variables_initializer())
    for step in range(3):
        summary, _, l = sess.run([merged, train, loss], {x: [[1.0], [2.0]], y: [[2.0], [4.0]]})
        writer.add_summary(summary, step)
        print(step, l, type(summary).__name__)
    writer.close()
    print(sess.run(W))
"""

PROGRAMS["book_chapter_graphs"] = """
x = tf.Variable(3, name="x")
y = tf.Variable(4, name="y")
f = x * x * y + y + 2
sess = tf.Session()
sess.run(x.initializer)
sess.run(y.initializer)
result = sess.run(f)
print(result, f)
sess.close()
with tf.Session() as sess:
    x.initializer.run()
    y.initializer.run()
    print(f.eval())
init = tf.global_variables_initializer()
with tf.Session() as sess:
    init.run()
    print(f.eval(), x.graph is tf.get_default_graph())
graph = tf.Graph()
with graph.as_default():
    x2 = tf.Variable(2)
print(x2.graph is graph, x2.graph is tf.get_default_graph())
w = tf.constant(3)
x = w + 2
y = x + 5
z = x * 3
with tf.Session() as sess:
    print(y.eval(), z.eval())
    y_val, z_val = sess.run([y, z])
    print(y_val, z_val)

def relu(X):
    with tf.variable_scope("relu", reuse=True):
        threshold = tf.get_variable("threshold")
        w_shape = (int(X.get_shape()[1]), 1)
        w = tf.Variable(tf.ones(w_shape), name="weights")
        b = tf.Variable(0.0, name="bias")
        z = tf.add(tf.matmul(X, w), b, name="z")
        return tf.maximum(z, threshold, name="max")

X = tf.placeholder(tf.float32, shape=(None, 3), name="X")
with tf.variable_scope("relu"):
    threshold = tf.get_variable("threshold", shape=(), initializer=tf.constant_initializer(0.5))
relus = [relu(X) for relu_index in range(3)]
output = tf.add_n(relus, name="output")
print(output, [r.name for r in relus], threshold.name)
print(sorted(v.name for v in tf.global_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(output, {X: [[1.0, -2.0, 0.5], [-1.0, -1.0, -1.0]]}))
"""

PROGRAMS["book_manual_gradient_descent"] = """
rng = np.random.RandomState(42)
m, n = 20, 3
data = np.c_[np.ones((m, 1)), rng.randn(m, n)].astype(np.float32)
target = (data @ np.array([[1.0], [2.0], [-1.0], [0.5]]) + 0.1 * rng.randn(m, 1))
X = tf.constant(data, dtype=tf.float32, name="X")
y = tf.constant(target.reshape(-1, 1), dtype=tf.float32, name="y")
theta = tf.Variable(tf.constant([[0.1], [-0.2], [0.3], [0.0]]), name="theta")
y_pred = tf.matmul(X, theta, name="predictions")
error = y_pred - y
mse = tf.reduce_mean(tf.square(error), name="mse")
gradients = 2 / m * tf.matmul(tf.transpose(X), error)
auto_gradients = tf.gradients(mse, [theta])[0]
training_op = tf.assign(theta, theta - 0.05 * gradients)
print(y_pred, mse, gradients, training_op)
init = tf.global_variables_initializer()
with tf.Session() as sess:
    sess.run(init)
    for epoch in range(60):
        if epoch % 20 == 0:
            print("Epoch", epoch, "MSE =", mse.eval())
        sess.run(training_op)
    best_theta = theta.eval()
    print(best_theta)
    g1, g2 = sess.run([gradients, auto_gradients])
    print(np.allclose(g1, g2, atol=1e-5), g2.ravel())
"""

PROGRAMS["book_normal_equation"] = """
rng = np.random.RandomState(0)
m = 12
data = np.c_[np.ones((m, 1)), rng.randn(m, 2)]
target = data @ np.array([[4.0], [3.0], [-2.0]]) + 0.05 * rng.randn(m, 1)
X = tf.constant(data, dtype=tf.float32, name="X")
y = tf.constant(target, dtype=tf.float32, name="y")
XT = tf.transpose(X)
theta = tf.matmul(tf.matmul(tf.matrix_inverse(tf.matmul(XT, X)), XT), y)
inv2 = tf.linalg.inv(tf.constant([[0.0, 2.0], [1.0, 1.0]]))
print(theta, inv2)
with tf.Session() as sess:
    theta_value = theta.eval()
    print(theta_value)
    print(sess.run(inv2))
"""
