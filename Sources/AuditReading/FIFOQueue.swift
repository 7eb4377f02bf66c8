/// First in, first out, over one array: taken from the front in O(1) amortised, the
/// array compacted once its taken part outgrows the rest. The detector's tables that
/// keep an arrival order (open events, held execs, waiting file events, alerted
/// identities, events selected ahead) use it.
public struct FIFOQueue<Element> {
    // Inlinable, so that each module's use is specialised for its element, not called
    // through generic witnesses on every element.
    @usableFromInline var items: [Element] = []
    @usableFromInline var head = 0

    @inlinable public init() {}

    @inlinable public var count: Int { items.count - head }
    @inlinable public var isEmpty: Bool { head == items.count }
    @inlinable public var first: Element? { head < items.count ? items[head] : nil }
    /// The elements, oldest first.
    @inlinable public var elements: ArraySlice<Element> { items[head...] }

    @inlinable public mutating func append(_ element: Element) { items.append(element) }

    /// Removes the `k` oldest elements (the first when `k` is 1).
    @inlinable public mutating func removeFirst(_ k: Int = 1) {
        precondition(k <= count, "FIFOQueue: removing more than it holds")
        head += k
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Removes every element `isRemoved` says (a sweep of entries gone stale).
    @inlinable public mutating func removeAll(where isRemoved: (Element) -> Bool) {
        items = items[head...].filter { !isRemoved($0) }
        head = 0
    }

    @inlinable public mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
    }
}

extension FIFOQueue: Sendable where Element: Sendable {}
