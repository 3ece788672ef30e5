"""TF1 programs (part 2: Variables, gradients, optimizers, training loops on small synthetic data
with fixed initial values). See tf1_oracle.py for how they are run and compared."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["linear_regression_gd"] = """
X = np.linspace(-1, 1, 8).astype(np.float32).reshape(-1, 1)
Y = 3 * X + 2 + 0.1 * np.sin(7 * X)
x = tf.placeholder(tf.float32, [None, 1], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
W = tf.Variable(tf.zeros([1, 1]), name="weight")
b = tf.Variable(0.0, name="bias")
pred = tf.add(tf.matmul(x, W), b)
cost = tf.reduce_mean(tf.square(pred - y))
optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(cost)
init = tf.global_variables_initializer()
print(W, b, pred, cost, optimizer.name, optimizer.type, init.name)
with tf.Session() as sess:
    sess.run(init)
    for epoch in range(30):
        _, c = sess.run([optimizer, cost], feed_dict={x: X, y: Y})
        if epoch % 10 == 0:
            print("Epoch:", epoch, "cost=", c, type(c).__name__)
    print("W=", sess.run(W), "b=", sess.run(b))
    print(repr(sess.run(b)), sess.run(cost, {x: X, y: Y}))
"""

PROGRAMS["logistic_regression_sgd"] = """
X = np.array([[0.5, 1.0], [1.5, -0.5], [-1.0, -1.0], [-0.5, 2.0], [2.0, 0.1], [-2.0, 0.3]],
             np.float32)
Y = np.array([[1.0], [1.0], [0.0], [0.0], [1.0], [0.0]], np.float32)
x = tf.placeholder(tf.float32, [None, 2])
y = tf.placeholder(tf.float32, [None, 1])
w = tf.Variable([[0.1], [-0.2]], name="w")
b = tf.Variable([0.0], name="b")
logits = tf.matmul(x, w) + b
loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
prob = tf.sigmoid(logits)
acc = tf.reduce_mean(tf.cast(tf.equal(tf.cast(prob > 0.5, tf.float32), y), tf.float32))
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(20):
        l, _ = sess.run([loss, train], {x: X, y: Y})
    print(l, sess.run(acc, {x: X, y: Y}), sess.run([w, b]))
    print(sess.run(prob, {x: X[:2]}))
"""

PROGRAMS["softmax_classifier_adam"] = """
rng = np.random.RandomState(0)
X = rng.randn(12, 4).astype(np.float32)
labels = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
Y = np.eye(3, dtype=np.float32)[labels]
x = tf.placeholder(tf.float32, [None, 4], name="x")
y_ = tf.placeholder(tf.float32, [None, 3], name="y_")
# generic initial values: with all-equal ones some gradients are exactly 0 in exact arithmetic,
# and Adam's first step (about lr * sign(g)) would amplify float noise in them
W = tf.Variable(np.linspace(-0.3, 0.4, 12).reshape(4, 3).astype(np.float32), name="W")
b = tf.Variable(tf.constant([0.05, -0.02, 0.01]), name="b")
y = tf.nn.softmax(tf.matmul(x, W) + b)
logits = tf.matmul(x, W) + b
cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_,
                                                                         logits=logits))
train_step = tf.train.AdamOptimizer(0.05).minimize(cross_entropy)
correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
print([v.name for v in tf.global_variables()])
print([v.name for v in tf.trainable_variables()])
sess = tf.Session()
sess.run(tf.global_variables_initializer())
for i in range(15):
    _, ce = sess.run([train_step, cross_entropy], feed_dict={x: X, y_: Y})
    if i % 5 == 0:
        print(i, ce)
print(sess.run(accuracy, feed_dict={x: X, y_: Y}))
print(sess.run(W))
print(sess.run(y, {x: X[:2]}))
sess.close()
"""

PROGRAMS["sparse_softmax_momentum"] = """
X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]], np.float32)
L = np.array([0, 1, 2, 1], np.int32)
x = tf.placeholder(tf.float32, [None, 2])
lab = tf.placeholder(tf.int32, [None])
with tf.variable_scope("model"):
    W = tf.get_variable("W", [2, 3], initializer=tf.constant_initializer(0.1))
    b = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
logits = tf.matmul(x, W) + b
xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=logits)
loss = tf.reduce_mean(xent)
print(W.name, b.name, xent, loss)
opt = tf.train.MomentumOptimizer(learning_rate=0.2, momentum=0.9)
train = opt.minimize(loss)
print(sorted(v.name for v in tf.global_variables()))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(xent, {x: X, lab: L}))
    for _ in range(10):
        sess.run(train, {x: X, lab: L})
    print(sess.run([loss, W, b], {x: X, lab: L}))
    print(sess.run(opt.get_slot(W, "momentum")))
"""

PROGRAMS["gradients_basic"] = """
x = tf.placeholder(tf.float32, [3], name="x")
w = tf.Variable([1.0, 2.0, 3.0], name="w")
y = tf.reduce_sum(x * w + tf.square(w))
gx, gw = tf.gradients(y, [x, w])
g_none = tf.gradients(y, tf.Variable(1.0))
print(gx, gw, g_none)
print(len(tf.gradients(y, [w])), type(tf.gradients(y, w)).__name__)
z = tf.square(x) * 3.0
gz = tf.gradients(z, x, grad_ys=tf.constant([1.0, 0.5, 0.0]))
a = tf.constant(2.0)
b = 3.0 * a
c = a * b
g_stop = tf.gradients(c, [a, b], stop_gradients=[a, b])
g_full = tf.gradients(c, [a, b])
s = tf.stop_gradient(w) * w
g_sg = tf.gradients(tf.reduce_sum(s), w)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([gx, gw], {x: [1.0, -1.0, 0.5]}))
    print(sess.run(gz, {x: [1.0, 2.0, 3.0]}))
    print(sess.run(g_stop), sess.run(g_full), sess.run(g_sg))
"""

PROGRAMS["gradients_of_gradients"] = """
x = tf.Variable([1.0, 2.0], name="x")
y = tf.reduce_sum(x ** 3) + x[0] * x[1]
g = tf.gradients(y, x)[0]
v = tf.constant([1.0, -1.0])
hvp = tf.gradients(tf.reduce_sum(g * v), x)[0]
h = tf.hessians(y, x)[0]
print(g, h.shape)
with tf.Session() as sess:
    sess.run(x.initializer)
    print(sess.run([g, hvp, h]))
"""

PROGRAMS["gradients_broadcast_shared"] = """
x = tf.placeholder(tf.float32, [None, 3])
b = tf.Variable([0.5, -0.5, 1.0])
s = tf.Variable(2.0)
h = tf.tanh(x + b) * s
out = tf.reduce_mean(h * h + h)
gb, gs, gx = tf.gradients(out, [b, s, x])
print(gb.shape, gs.shape, gx.shape)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([gb, gs, gx], {x: [[0.1, 0.2, 0.3], [-1.0, 0.0, 1.0]]}))
"""

PROGRAMS["counter_control_deps"] = """
counter = tf.Variable(0, name="counter")
one = tf.constant(1)
new_value = tf.add(counter, one)
update = tf.assign(counter, new_value)
init_op = tf.global_variables_initializer()
with tf.Session() as sess:
    sess.run(init_op)
    print(sess.run(counter))
    for _ in range(3):
        sess.run(update)
        print(sess.run(counter))
total = tf.Variable(0.0, name="total")
inc = tf.assign_add(total, 2.5)
dec = total.assign_sub(1.0)
with tf.control_dependencies([inc]):
    read = tf.identity(total, name="read")
grouped = tf.group(inc, dec)
print(inc, read, grouped.name, grouped.type)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(read), sess.run(read), repr(sess.run(total)))
    print(sess.run(grouped), sess.run(total))
    print(repr(sess.run(inc)))
"""

PROGRAMS["variables_and_initializers"] = """
v1 = tf.Variable(tf.random_normal([2, 3], stddev=0.35), name="weights")
v2 = tf.Variable(tf.truncated_normal([3, 4], stddev=0.1))
v3 = tf.Variable(tf.zeros([4]), name="biases", trainable=False)
v4 = tf.Variable(v3.initialized_value() + 1.0, name="v4")
v5 = tf.Variable(3, dtype=tf.float32)
v6 = tf.Variable([[1, 2]], dtype=tf.int64, name="v6")
for v in (v1, v2, v3, v4, v5, v6):
    print(v.name, v.op.name, v.shape, v.dtype, v.get_shape().as_list(), v.trainable)
print(v1)
print([v.name for v in tf.trainable_variables()])
with tf.Session() as sess:
    sess.run(tf.variables_initializer([v3, v4, v5, v6]))
    print(sess.run([v3, v4, v5, v6]))
    sess.run(tf.global_variables_initializer())
    print(sess.run(v1).shape, sess.run(v2).shape, np.abs(sess.run(v2)).max() <= 0.2)
    v5.load(7.0, sess)
    print(sess.run(v5), v5.eval(session=sess))
"""

PROGRAMS["get_variable_scopes"] = """
def layer(x, n_out, name):
    with tf.variable_scope(name):
        w = tf.get_variable("w", [x.get_shape()[1], n_out],
                            initializer=tf.constant_initializer(0.5))
        b = tf.get_variable("b", [n_out], initializer=tf.constant_initializer(0.1))
        return tf.nn.relu(tf.matmul(x, w) + b)

x = tf.placeholder(tf.float32, [None, 2], name="x")
with tf.variable_scope("net"):
    h = layer(x, 3, "l1")
    o = layer(h, 1, "l2")
with tf.variable_scope("net", reuse=True):
    w1 = tf.get_variable("l1/w")
print(h, o, w1.name)
print([v.name for v in tf.global_variables()])
with tf.variable_scope("net", reuse=True):
    h2 = layer(x, 3, "l1")
print(h2.name, len(tf.global_variables()))
raises(lambda: layer(x, 3, "net/l1"), "already exists")
with tf.variable_scope("foo"):
    with tf.name_scope("bar"):
        v = tf.get_variable("v", [1])
        a = tf.add(v, 1.0)
print(v.name, a.name)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([h, o], {x: [[1.0, -1.0], [2.0, 0.5]]}))
"""

PROGRAMS["layers_dense_mlp"] = """
x = tf.placeholder(tf.float32, [None, 3], name="x")
y = tf.placeholder(tf.float32, [None, 1], name="y")
h = tf.layers.dense(x, 4, activation=tf.nn.relu, kernel_initializer=tf.constant_initializer(0.2),
                    name="hidden")
out = tf.layers.dense(h, 1, kernel_initializer=tf.constant_initializer(-0.3))
loss = tf.losses.mean_squared_error(labels=y, predictions=out)
train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
print(h, out, loss)
print([v.name for v in tf.trainable_variables()])
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [0.0, 1.0, -1.0]], np.float32)
Y = np.array([[1.0], [0.0], [-1.0]], np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(5):
        l, _ = sess.run([loss, train], {x: X, y: Y})
        print(l)
    print(sess.run(out, {x: X}))
"""

PROGRAMS["compute_apply_clipping"] = """
w = tf.Variable([3.0, -4.0], name="w")
b = tf.Variable(1.0, name="b")
loss = tf.reduce_sum(tf.square(w)) * 10.0 + b * b
opt = tf.train.GradientDescentOptimizer(0.01)
gvs = opt.compute_gradients(loss)
print([(g.name, v.name) for g, v in gvs])
capped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in gvs]
train = opt.apply_gradients(capped)
grads = [g for g, _ in gvs]
clipped, gnorm = tf.clip_by_global_norm(grads, 5.0)
train2 = opt.apply_gradients(zip(clipped, [w, b]))
global_step = tf.Variable(0, trainable=False, name="global_step")
train3 = tf.train.GradientDescentOptimizer(0.001).minimize(loss, global_step=global_step)
print(train.name, train2.name, train3.name, tf.global_norm(grads))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run(grads), sess.run(gnorm), sess.run(clipped))
    sess.run(train)
    print(sess.run([w, b]))
    sess.run(train2)
    print(sess.run([w, b]))
    sess.run(train3)
    sess.run(train3)
    print(sess.run([w, b, global_step]))
    print(sess.run(tf.clip_by_norm(tf.constant([3.0, 4.0]), 1.0)))
"""

PROGRAMS["adam_var_list_and_slots"] = """
a = tf.Variable([1.0, 2.0], name="a")
b = tf.Variable(0.5, name="b")
loss = tf.reduce_sum((a - 3.0) ** 2) + (b + 1.0) ** 2
opt = tf.train.AdamOptimizer(learning_rate=0.1, beta1=0.8, beta2=0.99, epsilon=1e-6)
step = opt.minimize(loss, var_list=[a])
print(sorted(v.name for v in tf.global_variables()))
print(opt.get_slot_names(), opt.get_slot(a, "m").name, opt.get_slot(b, "m"))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(4):
        sess.run(step)
    print(sess.run([a, b, loss]))
    print(sess.run([opt.get_slot(a, "m"), opt.get_slot(a, "v")]))
"""

PROGRAMS["interactive_session_eval"] = """
sess = tf.InteractiveSession()
a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
x = tf.Variable([1.0, 2.0])
x.initializer.run()
print(a.eval())
print(tf.matmul(a, a).eval(), x.eval())
p = tf.placeholder(tf.float32, [2])
print((p * 2).eval(feed_dict={p: [1.0, 5.0]}))
tf.assign(x, [3.0, 3.0]).op.run()
print(x.eval(), tf.get_default_session() is sess)
sess.close()
"""

PROGRAMS["name_scopes"] = """
with tf.name_scope("hidden") as scope:
    a = tf.constant(5, name="alpha")
    W = tf.Variable(tf.ones([2, 2]), name="weights")
    b = tf.Variable(tf.zeros([2]), name="biases")
    print(scope, a.name, W.name, b.name, W.op.name)
with tf.name_scope("hidden"):
    c = tf.constant(1.0, name="c")
with tf.name_scope("outer"):
    with tf.name_scope("inner"):
        d = tf.add(c, 2.0)
        e = tf.multiply(d, d, name="sq")
    f = d * e
print(c.name, d.name, e.name, f.name)
x1 = tf.placeholder(tf.float32, name="x") if False else tf.placeholder(tf.float32, [], name="x")
x2 = tf.placeholder(tf.float32, [], name="x")
x3 = tf.placeholder(tf.float32, [])
x4 = tf.placeholder(tf.float32, [])
print(x1.name, x2.name, x3.name, x4.name)
s1 = tf.add(x1, x2)
s2 = tf.add(x1, x2)
m = x1 * x2
m2 = x3 * x4
print(s1.name, s2.name, m.name, m2.name, tf.identity(m).name, tf.reduce_sum(m).name)
"""
